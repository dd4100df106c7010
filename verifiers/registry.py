"""Presets found by name, and verifiers built from a source's configuration."""

from __future__ import annotations

from collections.abc import Mapping

from verifiers.errors import VerifierConfigError
from verifiers.model import Preset, Settings, Verifier
from verifiers.presets import (
    api_key,
    basic,
    calendly,
    discord,
    github,
    gitlab,
    hmac,
    hubspot,
    intercom,
    linear,
    mailgun,
    paddle,
    razorpay,
    sendgrid,
    shopify,
    slack,
    sns,
    square,
    standard_webhooks,
    stripe,
    svix,
    twilio,
    twitch,
    typeform,
    zoom,
)

PRESETS: Mapping[str, Preset] = {
    preset.name: preset
    for preset in (
        api_key.PRESET,
        basic.PRESET,
        calendly.PRESET,
        discord.PRESET,
        github.PRESET,
        gitlab.PRESET,
        hmac.PRESET,
        hubspot.PRESET,
        intercom.PRESET,
        linear.PRESET,
        mailgun.PRESET,
        paddle.PRESET,
        razorpay.PRESET,
        sendgrid.PRESET,
        shopify.PRESET,
        slack.PRESET,
        sns.PRESET,
        square.PRESET,
        standard_webhooks.PRESET,
        stripe.PRESET,
        svix.PRESET,
        twilio.PRESET,
        twitch.PRESET,
        typeform.PRESET,
        zoom.PRESET,
    )
}


def find_preset(name: str) -> Preset:
    """The preset called ``name``; a ``VerifierConfigError`` on ``verifier`` if none is."""
    try:
        return PRESETS[name]
    except KeyError:
        raise VerifierConfigError("verifier", f"unknown preset {name!r}") from None


def build_verifier(
    name: str,
    secrets: tuple[str, ...],
    tolerance_s: float | None,
    options: Mapping[str, object],
) -> Verifier:
    """A verifier for preset ``name``; raises ``VerifierConfigError`` naming the bad key.

    ``tolerance_s`` None means the preset's own default window.
    """
    preset = find_preset(name)
    unknown = sorted(set(options) - set(preset.options))
    if unknown:
        allowed = ", ".join(preset.options) or "none"
        raise VerifierConfigError(f"options.{unknown[0]}", f"unknown option (allowed: {allowed})")
    if preset.needs_secrets and not secrets:
        raise VerifierConfigError("secrets", "required")
    if any(not secret for secret in secrets):
        raise VerifierConfigError("secrets", "must not be empty strings")
    window = preset.default_tolerance_s if tolerance_s is None else tolerance_s
    return preset.build(Settings(secrets=secrets, tolerance_s=window, options=options))
