"""URLs of the residents' portal (namespace ``portal``), mounted under ``/portal/``."""

from django.urls import path

from linli.portal.views import affairs, hall, maps, register, resident, staff

app_name = "portal"

urlpatterns = [
    path("", resident.home, name="home"),
    path("register/", register.register, name="register"),
    path("register/code/", register.register_code, name="register-code"),
    path("b/<int:building_id>/", register.building_entry, name="building-entry"),
    path("login/", register.login_view, name="login"),
    path("login/code/", register.login_code, name="login-code"),
    path("logout/", register.logout_view, name="logout"),
    path("dev/codes/", register.dev_codes, name="dev-codes"),
    path("household/", resident.household, name="household"),
    path("household/invite/", resident.member_invite, name="member-invite"),
    path("invite/", register.invite_accept, name="invite-accept"),
    path("reports/", resident.reports, name="reports"),
    path("reports/new/", resident.report_new, name="report-new"),
    path("reports/<int:case_id>/", resident.report, name="report"),
    path("reports/<int:case_id>/rate/", resident.report_rate, name="report-rate"),
    path("reports/photos/<int:photo_id>/", resident.report_photo, name="report-photo"),
    path("services/", resident.services_index, name="services"),
    path("services/<int:item_id>/apply/", resident.apply, name="apply"),
    path("applications/", resident.applications, name="applications"),
    path("applications/<int:application_id>/", resident.application, name="application"),
    # The hall: corrections, decision documents, appointments (views/hall.py)
    path("applications/<int:application_id>/correct/", hall.application_correct, name="application-correct"),
    path("applications/<int:application_id>/decision/", hall.application_decision, name="application-decision"),
    path("services/<int:item_id>/appointment/", hall.appointment_new, name="appointment-new"),
    path("appointments/", hall.appointments, name="appointments"),
    path("appointments/<int:appointment_id>/cancel/", hall.appointment_cancel, name="appointment-cancel"),
    path("map/base.json", maps.map_base, name="map-base"),
    path("map/nearest.json", maps.map_nearest, name="map-nearest"),
    path("notices/", resident.notices, name="notices"),
    path("notices/<int:notice_id>/", resident.notice, name="notice"),
    path("notices/files/<int:attachment_id>/", resident.notice_file, name="notice-file"),
    path("certification/", resident.certification, name="certification"),
    path("affairs/", affairs.affairs, name="affairs"),
    path("affairs/conventions/<int:convention_id>/", affairs.convention, name="convention"),
    path("affairs/photos/<int:member_id>/", affairs.member_photo, name="member-photo"),
    # Staff
    path("staff/registrations/", staff.registrations, name="staff-registrations"),
    path("staff/registrations/<int:registration_id>/", staff.registration, name="staff-registration"),
    path("staff/notices/", staff.notices, name="staff-notices"),
    path("staff/notices/new/", staff.notice_new, name="staff-notice-new"),
    path("staff/certifications/", staff.certifications, name="staff-certifications"),
    path("staff/affairs/", affairs.staff_affairs, name="staff-affairs"),
    path("staff/affairs/members/new/", affairs.staff_member_new, name="staff-member-new"),
    path("staff/affairs/members/<int:member_id>/", affairs.staff_member, name="staff-member"),
    path("staff/affairs/members/<int:member_id>/end/", affairs.staff_member_end, name="staff-member-end"),
    path("staff/affairs/conventions/new/", affairs.staff_convention_new, name="staff-convention-new"),
    path("staff/buildings/<int:building_id>/code/", staff.building_code, name="staff-building-code"),
]
