from django.urls import path

from paging.ingest import views
from paging.notify import link_views, push_views, twilio_webhooks

urlpatterns = [
    path("integrations/<str:key>/", views.integration_webhook, name="integration-webhook"),
    path("v2/enqueue", views.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("v2/enqueue/", views.pagerduty_enqueue),
    path("twilio/sms/inbound/", twilio_webhooks.sms_inbound, name="twilio-sms"),
    # The first path we handed out; numbers configured with it keep working.
    path("twilio/sms/", twilio_webhooks.sms_inbound),
    path(
        "twilio/status/<int:notification_id>/",
        twilio_webhooks.message_status,
        name="twilio-status",
    ),
    path("twilio/voice/<str:token>/", twilio_webhooks.voice_page, name="twilio-voice"),
    path(
        "twilio/voice/<str:token>/gather/",
        twilio_webhooks.voice_gather,
        name="twilio-voice-gather",
    ),
    path(
        "twilio/verify-call/<str:token>/", twilio_webhooks.voice_verify, name="twilio-voice-verify"
    ),
    path("page/<str:token>/", link_views.page_link, name="page-link"),
    path("verify/<str:token>/", link_views.contact_verify, name="contact-verify"),
    path("push/act/<str:token>/", push_views.push_action, name="push-action"),
    path("push/confirm/<str:token>/", push_views.push_confirm, name="push-confirm"),
]
