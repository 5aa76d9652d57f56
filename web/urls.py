"""The responder app's pages."""

from django.urls import path

from web import schedule_pages, signin, views

app_name = "web"

urlpatterns = [
    path("", views.now, name="now"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<int:pk>/", views.incident_page, name="incident"),
    path("incidents/<int:pk>/live/", views.incident_live, name="incident-live"),
    path("incidents/<int:pk>/<str:action>/", views.incident_act, name="incident-act"),
    path("schedules/", schedule_pages.schedule_list, name="schedules"),
    path("schedules/<int:pk>/", schedule_pages.schedule_page, name="schedule"),
    path("schedules/<int:pk>/cover/", schedule_pages.cover_page, name="schedule-cover"),
    path("schedules/<int:pk>/ask/", schedule_pages.ask_page, name="schedule-ask"),
    path(
        "schedules/requests/<int:pk>/<str:action>/",
        schedule_pages.request_act,
        name="cover-request",
    ),
    path("login/", signin.SignIn.as_view(), name="signin"),
    path("logout/", signin.SignOut.as_view(), name="signout"),
    path("password/", signin.ResetPassword.as_view(), name="password_reset"),
    path("password/sent/", signin.ResetSent.as_view(), name="password_reset_sent"),
    path(
        "password/set/<uidb64>/<token>/",
        signin.SetPassword.as_view(),
        name="password_set",
    ),
    path("password/done/", signin.PasswordSet.as_view(), name="password_set_done"),
]
