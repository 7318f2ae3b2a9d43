"""Case pages (namespace ``cases``), mounted at ``/cases/``."""

from django.urls import path

from linli.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("all/", views.case_list, name="list"),
    path("new/", views.report, name="report"),
    path("hotline/", views.hotline, name="hotline"),
    path("statistics/", views.statistics, name="statistics"),
    path("statistics.xlsx", views.statistics_xlsx, name="statistics-xlsx"),
    path("<int:case_id>/", views.case_page, name="case"),
    path("<int:case_id>/photos/<int:photo_id>/", views.photo, name="photo"),
]
