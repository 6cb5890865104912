"""The credentials of a sandbox account, as an outside client needs them.

curl, Postman or an official SDK talk to the sandbox as to the provider: the account's API key
and secret (Basic on the Messages, SMS and Application APIs), or the JWT of the application
the bot's numbers are linked to (signed with its private key). A bot developer checks the
webhooks the sandbox signs with the signature secret.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SANDBOX_API_KEY = "abcd1234"  # the SMS API takes 8-character keys


def key_pair() -> tuple[str, str]:
    """A fresh RSA key pair as PEM text: ``(public, private)`` (PKCS#8, unencrypted)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return public, private


@dataclass(frozen=True)
class SandboxCredentials:
    """The account's key and secret, the webhook signature secret, and the linked
    application's id and key pair."""

    api_key: str
    api_secret: str
    signature_secret: str
    application_id: str
    public_key_pem: str
    private_key_pem: str

    @classmethod
    def fresh(
        cls, *, api_secret: str | None = None, signature_secret: str | None = None
    ) -> SandboxCredentials:
        """Credentials for one run: the secrets given (random when None), the key
        :data:`SANDBOX_API_KEY`, a new application id and key pair."""
        public, private = key_pair()
        return cls(
            api_key=SANDBOX_API_KEY,
            api_secret=api_secret or secrets.token_urlsafe(16),
            signature_secret=signature_secret or secrets.token_urlsafe(32),
            application_id=str(uuid.uuid4()),
            public_key_pem=public,
            private_key_pem=private,
        )
