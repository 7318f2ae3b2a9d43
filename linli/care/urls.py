"""Care pages (namespace ``care``), mounted at ``/care/``."""

from django.urls import path

from linli.care import views

app_name = "care"

urlpatterns = [
    path("", views.today, name="today"),
    path("persons/<int:person_id>/visit/", views.visit_new, name="visit-new"),
    path("visits/<int:visit_id>/", views.visit_page, name="visit"),
    path("visits/<int:visit_id>/case/", views.visit_case, name="visit-case"),
    path("visits/<int:visit_id>/apply/", views.visit_application, name="visit-apply"),
    path("visits/<int:visit_id>/photos/<int:photo_id>/", views.visit_photo, name="visit-photo"),
    path("work-orders/<int:order_id>/done/", views.work_order_done, name="work-order-done"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("expiring/", views.expiring, name="expiring"),
    path("statistics/", views.statistics, name="statistics"),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.rule_edit, name="rule-new"),
    path("rules/count/", views.rule_count, name="rule-count"),
    path("rules/<slug:code>/", views.rule_edit, name="rule-edit"),
    path("levels/", views.levels, name="levels"),
    path("levels/new/", views.level_edit, name="level-new"),
    path("levels/visit-plans/", views.visit_plans, name="visit-plans"),
    path("levels/<int:rule_id>/", views.level_edit, name="level-edit"),
    path("levels/<int:rule_id>/delete/", views.level_delete, name="level-delete"),
    path("levels/<int:rule_id>/move/", views.level_move, name="level-move"),
]
