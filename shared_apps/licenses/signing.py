"""Signatures of e-licenses, behind one interface whatever the algorithm:

- the data: the canonical JSON of the license's printed fields (`signed_payload`) signed with the
  issuing unit's key — ECDSA P-256/SHA-256 (`cryptography`) or, as the national-cryptography
  option, SM2 with SM3 (`gmssl`); `LICENSE_SIGNATURE_ALGORITHM` picks which for new licenses;
- the PDF: a PAdES signature (pyHanko) with the unit's ECDSA key and its self-signed certificate
  (pyHanko signs with RSA/ECDSA/EdDSA, not SM2).

Private keys are kept encrypted with a key derived from IDENTITY_KEY (purpose
"license-signing-keys"; IDENTITY_PREVIOUS_KEYS still decrypt during a rotation of it). A unit's
key is rotated by retiring it and creating another; each license names its key, so what the old
key signed keeps verifying.
"""

import base64
import binascii
import hashlib
import hmac
import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from gmssl import sm2
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from shared_apps.licenses.models import Algorithm

CERTIFICATE_YEARS = 30
SIGNATURE_FIELD = "LicenseSignature"


def _fernet() -> MultiFernet:
    secrets_ = [settings.IDENTITY_KEY, *settings.IDENTITY_PREVIOUS_KEYS]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    hmac.new(s.encode(), b"license-signing-keys", hashlib.sha256).digest()
                )
            )
            for s in secrets_
        ]
    )


class KeyUnavailable(Exception):
    pass


def wrap(private: bytes) -> str:
    return _fernet().encrypt(private).decode()


def unwrap(token: str) -> bytes:
    try:
        return _fernet().decrypt(token.encode())
    except InvalidToken:
        raise KeyUnavailable("签名私钥无法解密：IDENTITY_KEY 与加密它时的不同。") from None


@dataclass(frozen=True)
class NewKey:
    public_key: str
    private_key: bytes
    certificate: str


def generate(algorithm: str, *, unit_name: str, key_id: str) -> NewKey:
    if algorithm == Algorithm.SM2_SM3:
        n = int(sm2.default_ecc_table["n"], 16)
        private = format(secrets.randbelow(n - 1) + 1, "064x")
        public = sm2.CryptSM2(private_key=private, public_key="")._kg(
            int(private, 16), sm2.default_ecc_table["g"]
        )
        return NewKey(public_key=public, private_key=private.encode(), certificate="")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, unit_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{unit_name[:40]} 电子证照签名 {key_id}"[:64]),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return NewKey(
        public_key=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        private_key=key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_data(key, payload: dict) -> str:
    """The base64 signature of the payload's canonical JSON with `key` (a SigningKey)."""
    message = canonical(payload)
    private = unwrap(key.private_key_encrypted)
    if key.algorithm == Algorithm.SM2_SM3:
        crypt = sm2.CryptSM2(private_key=private.decode(), public_key=key.public_key)
        return base64.b64encode(bytes.fromhex(crypt.sign_with_sm3(message))).decode()
    loaded = serialization.load_der_private_key(private, password=None)
    return base64.b64encode(loaded.sign(message, ec.ECDSA(hashes.SHA256()))).decode()


def data_signature_valid(key, payload: dict, signature: str) -> bool:
    message = canonical(payload)
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if key.algorithm == Algorithm.SM2_SM3:
        crypt = sm2.CryptSM2(private_key="", public_key=key.public_key)
        try:
            return bool(crypt.verify_with_sm3(raw.hex(), message))
        except (ValueError, ZeroDivisionError):
            return False
    public = serialization.load_pem_public_key(key.public_key.encode())
    try:
        public.verify(raw, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _asn1_certificate(key) -> asn1_x509.Certificate:
    der = x509.load_pem_x509_certificate(key.certificate.encode()).public_bytes(
        serialization.Encoding.DER
    )
    return asn1_x509.Certificate.load(der)


def sign_pdf(key, pdf: bytes) -> bytes:
    """The PDF with a PAdES signature of `key` (an ECDSA SigningKey) over the whole file."""
    certificate = _asn1_certificate(key)
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(unwrap(key.private_key_encrypted)),
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    out = io.BytesIO()
    signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason="电子证照签发",
        ),
        signer=signer,
        output=out,
    )
    return out.getvalue()


@dataclass(frozen=True)
class PdfCheck:
    """What a PDF says: `problem` is a Chinese reason when it can't be read or does not verify;
    `subject` the document's subject (the identifier it was issued with)."""

    problem: str = ""
    subject: str = ""


def _signatures(pdf: bytes):
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return reader, reader.embedded_signatures


def read_subject(pdf: bytes) -> PdfCheck:
    """The identifier a PDF names, before anything is verified."""
    try:
        reader, signatures = _signatures(pdf)
        info = reader.trailer_view.get("/Info")
        info = info.get_object() if info is not None else {}
        subject = str(info.get("/Subject", ""))
    except Exception:  # pyHanko raises many kinds on a broken file; all mean the same here
        return PdfCheck(problem="文件不是可读取的 PDF。")
    if not signatures:
        return PdfCheck(problem="PDF 中没有电子签名，不是签发的电子证照文件。")
    return PdfCheck(subject=subject[:200])


def check_pdf(pdf: bytes, key) -> PdfCheck:
    """Whether `pdf` carries one intact PAdES signature of `key` (the license's) covering the
    whole file."""
    try:
        _, signatures = _signatures(pdf)
    except Exception:
        return PdfCheck(problem="文件不是可读取的 PDF。")
    if len(signatures) != 1:
        return PdfCheck(problem="PDF 在签名后被追加了内容或签名。")
    certificate = _asn1_certificate(key)
    embedded = signatures[0]
    if embedded.signer_cert is None or embedded.signer_cert.dump() != certificate.dump():
        return PdfCheck(problem="PDF 不是用该证照签发单位的密钥签名的。")
    try:
        status = validate_pdf_signature(
            embedded, ValidationContext(trust_roots=[certificate], allow_fetching=False)
        )
    except (SignatureValidationError, ValueError):
        return PdfCheck(problem="PDF 的签名无法验证：文件已损坏或被改动。")
    if not status.intact or not status.valid:
        return PdfCheck(problem="PDF 内容在签名后被改动，签名不符。")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return PdfCheck(problem="PDF 在签名后被追加了内容。")
    return PdfCheck()
