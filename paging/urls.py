from django.urls import path

from paging import twilio_webhooks, views

urlpatterns = [
    path("integrations/<str:key>/", views.integration_webhook, name="integration-webhook"),
    path("v2/enqueue", views.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("v2/enqueue/", views.pagerduty_enqueue),
    path("twilio/sms/", twilio_webhooks.sms_inbound, name="twilio-sms"),
    path(
        "twilio/status/<int:notification_id>/",
        twilio_webhooks.message_status,
        name="twilio-status",
    ),
]
