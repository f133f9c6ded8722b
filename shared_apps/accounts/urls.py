from django.urls import path

from shared_apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-up", views.sign_up, name="sign_up"),
    path("sign-in", views.sign_in, name="sign_in"),
    path("second-factor", views.second_factor, name="second_factor"),
    path("enrol/confirm", views.enrol_confirm, name="enrol_confirm"),
    path("enrol/<str:code>", views.enrol, name="enrol"),
    path("me", views.account, name="account"),
    path("me/messages/read", views.mark_messages_read, name="mark_messages_read"),
    path("me/consents/<int:consent_id>", views.consent_decision, name="consent_decision"),
    path("sign-out", views.sign_out, name="sign_out"),
    path("sign-out-everywhere", views.sign_out_everywhere, name="sign_out_everywhere"),
]
