"""URLs of the staff workbench (namespace ``web``)."""

from django.urls import path

from linli.web.views import areas, audit, auth, notices, registry

app_name = "web"

urlpatterns = [
    path("", areas.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("areas/", areas.areas, name="areas"),
    path("grids/<int:grid_id>/", areas.grid, name="grid"),
    path("grids/<int:grid_id>/persons.csv", registry.grid_persons_csv, name="grid-persons-csv"),
    path("search/", registry.search, name="search"),
    path("persons/<int:person_id>/", registry.person, name="person"),
    path("households/<int:household_id>/", registry.household, name="household"),
    path("buildings/<int:building_id>/", registry.building, name="building"),
    path("audit/", audit.audit, name="audit"),
    path("notices/<int:notice_id>/read/", notices.notice_read, name="notice-read"),
]
