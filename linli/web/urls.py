"""URLs of the staff workbench (namespace ``web``)."""

from django.urls import path

from linli.web.views import areas, audit, auth, maps, registry
from linli.web.views import manage as manage_index
from linli.web.views.manage import accounts as manage_accounts
from linli.web.views.manage import areas as manage_areas
from linli.web.views.manage import rules as manage_rules
from linli.web.views.manage import windows as manage_windows

app_name = "web"

urlpatterns = [
    path("", areas.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("areas/", areas.areas, name="areas"),
    path("grids/<int:grid_id>/", areas.grid, name="grid"),
    path("grids/<int:grid_id>/persons.csv", registry.grid_persons_csv, name="grid-persons-csv"),
    path("search/", registry.search, name="search"),
    path("persons/", registry.persons, name="persons"),
    path("persons.xlsx", registry.persons_xlsx, name="persons-xlsx"),
    path("unplaced/", registry.unplaced, name="unplaced"),
    path("persons/<int:person_id>/place/", registry.person_place_view, name="person-place"),
    path("persons/<int:person_id>/", registry.person, name="person"),
    path("households/<int:household_id>/", registry.household, name="household"),
    path("buildings/<int:building_id>/", registry.building, name="building"),
    path("audit/", audit.audit, name="audit"),
    # The shared base map's data and the map picker's address lookup (docs/cockpit.md#base-map).
    path("map/base.json", maps.basemap, name="map-base"),
    path("map/nearest.json", maps.nearest, name="map-nearest"),
    # The offline tile file (docs/cockpit.md#offline-tiles): PMTiles by range, MBTiles by tile.
    path("map/tiles.pmtiles", maps.tile_archive, name="map-tile-archive"),
    path("map/tiles/<int:z>/<int:x>/<int:y>", maps.tile, name="map-tile"),
    # Administration (district administrator; street staff read their street's windows).
    path("manage/", manage_index.index, name="manage"),
    path("manage/accounts/", manage_accounts.accounts, name="manage-accounts"),
    path("manage/accounts/new/", manage_accounts.account_new, name="manage-account-new"),
    path("manage/accounts/<int:user_id>/", manage_accounts.account, name="manage-account"),
    path("manage/accounts/<int:user_id>/areas/<int:assignment_id>/remove/", manage_accounts.assignment_remove,
         name="manage-assignment-remove"),
    path("manage/departments/", manage_accounts.departments, name="manage-departments"),
    path("manage/departments/<int:department_id>/", manage_accounts.department, name="manage-department"),
    path("manage/areas/", manage_areas.areas, name="manage-areas"),
    path("manage/areas/<int:area_id>/", manage_areas.area, name="manage-area"),
    path("manage/areas/load/", manage_areas.areas_load, name="manage-areas-load"),
    path("manage/rules/", manage_rules.rules, name="manage-rules"),
    path("manage/rules/new/", manage_rules.rule, name="manage-rule-new"),
    path("manage/rules/<int:rule_id>/", manage_rules.rule, name="manage-rule"),
    path("manage/categories/", manage_rules.categories, name="manage-categories"),
    path("manage/categories/new/", manage_rules.category, name="manage-category-new"),
    path("manage/categories/<int:category_id>/", manage_rules.category, name="manage-category"),
    path("manage/windows/", manage_windows.windows, name="manage-windows"),
    path("manage/windows/new/", manage_windows.window, name="manage-window-new"),
    path("manage/windows/<int:window_id>/", manage_windows.window, name="manage-window"),
]
