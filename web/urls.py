"""The responder app's pages."""

from django.urls import path

from web import me, push, schedule_pages, signin, views

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
    path("me/", me.me, name="me"),
    path("me/methods/", me.method_add, name="me-method-add"),
    path("me/methods/<int:pk>/verify/", me.method_verify, name="me-method-verify"),
    path("me/methods/<int:pk>/send/", me.method_send, name="me-method-send"),
    path("me/methods/<int:pk>/remove/", me.method_remove, name="me-method-remove"),
    path("me/rules/", me.rule_add, name="me-rule-add"),
    path("me/rules/<int:pk>/remove/", me.rule_remove, name="me-rule-remove"),
    path("me/test-page/", me.test_page, name="me-test-page"),
    path("me/feed/", me.feed_new, name="me-feed-new"),
    path("me/feed/revoke/", me.feed_revoke, name="me-feed-revoke"),
    path("me/tokens/", me.token_create, name="me-token-create"),
    path("me/tokens/<int:pk>/revoke/", me.token_revoke, name="me-token-revoke"),
    path("me/zone/", me.zone_save, name="me-zone"),
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
    path("me/push/", push.me_push, name="me-push"),
    path("manifest.webmanifest", push.manifest, name="manifest"),
    path("sw.js", push.service_worker, name="service-worker"),
]
