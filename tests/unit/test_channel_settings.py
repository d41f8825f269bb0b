"""Channel settings: strict, self-documenting, secrets hidden; the table builds every channel."""

import pytest
from pydantic import ValidationError

from vp_monitor.alerts.channels import CHANNELS, ChannelSettings, build_channels


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"webhook": {"timeout": 5}}, "webhook.timeout\n  Extra inputs are not permitted"),
        ({"email": {"port": 0}}, "email.port\n  Input should be greater than or equal to 1"),
        ({"email": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
        ({"mqtt": {"timeout_s": 0}}, "mqtt.timeout_s\n  Input should be greater than 0"),
        ({"sms": {}}, "sms\n  Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_rejected_with_a_clear_message(data, message):
    """Unknown keys and out-of-range values fail at start-up, naming the key."""
    with pytest.raises(ValidationError) as caught:
        ChannelSettings.model_validate(data)
    assert message in str(caught.value)


def test_every_field_is_documented():
    """Every setting of every channel has a default and a description."""
    for section in ChannelSettings.model_fields.values():
        model = section.annotation
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert not info.is_required(), f"{model.__name__}.{name} has no default"


def test_passwords_are_hidden_in_repr_and_dump():
    """A logged settings object never shows an SMTP or MQTT password."""
    settings = ChannelSettings.model_validate(
        {"email": {"password": "smtp-secret"}, "mqtt": {"password": "mqtt-secret"}}
    )
    text = repr(settings) + str(settings.model_dump()) + settings.model_dump_json()
    assert "smtp-secret" not in text and "mqtt-secret" not in text
    assert settings.email.password.get_secret_value() == "smtp-secret"


def test_table_builds_one_channel_per_settings_section():
    """CHANNELS and ChannelSettings list the same channels; each builds from defaults."""
    assert set(CHANNELS) == set(ChannelSettings.model_fields)
    channels = build_channels(ChannelSettings())
    assert all(callable(getattr(channel, "send", None)) for channel in channels.values())
