"""Uploaded files (materials of an application, attachments): checked on their content, stored
outside the database, served back only to whoever the caller authorizes.

- **Type from the content, never the name.** The first bytes decide (`filetype`, plus the
  signatures of what is refused on sight: executables, scripts, HTML, SVG); a ZIP container is
  opened to tell OFD (GB/T 33190), DOCX and XLSX apart from any other archive, and Office files
  with macros are refused. Accepted: PDF, JPEG, PNG, OFD, DOCX, XLSX. The stored type is the
  detected one, and the stored name's extension is made to match it.
- **Size limit while receiving.** `SizeLimitHandler` (first of FILE_UPLOAD_HANDLERS) drops a file
  as soon as more than UPLOAD_MAX_BYTES of it arrived, before the rest is read, and notes it on
  the request; `store_upload` checks the size again for files from other sources.
- **Stored through Django's storage API** (`storages["uploads"]`: PLATFORM_DATA_DIR/uploads, or
  S3 through django-storages with UPLOAD_S3_BUCKET) under a random name that says nothing about
  the file or its owner, with its SHA-256 computed in one streaming pass.
- **Served only through the application** (`serve_upload`): after the caller's authorization
  predicate, as an attachment with the stored type and `nosniff`, after re-reading the stored
  file to check its SHA-256 (a file changed or damaged in storage is refused, not handed out).

There is no table here: the row that points to a file belongs to what the file is for (a case's
material, in that unit's schema, next to the case), which also decides who may read it. That row
takes its columns from `StoredFileFields`.
"""

import hashlib
import logging
import secrets
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import models
from django.http import FileResponse, HttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class FileType:
    mime: str
    extension: str
    label: str


ACCEPTED = {
    "pdf": FileType("application/pdf", "pdf", "PDF"),
    "jpeg": FileType("image/jpeg", "jpg", "JPEG 图片"),
    "png": FileType("image/png", "png", "PNG 图片"),
    "ofd": FileType("application/ofd", "ofd", "OFD 版式文档"),
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
        "Word 文档（DOCX）",
    ),
    "xlsx": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        "Excel 表格（XLSX）",
    ),
}
# What a file name's extension claims, for the error message.
CLAIMED_BY_EXTENSION = {
    "pdf": "pdf",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "ofd": "ofd",
    "docx": "docx",
    "xlsx": "xlsx",
}
ACCEPTED_LIST = "PDF、JPEG、PNG、OFD、DOCX、XLSX"


class UploadRefused(Exception):
    """A file refused, with the reason in Chinese for the person who sent it."""


@dataclass(frozen=True)
class StoredUpload:
    storage_name: str
    original_name: str
    content_type: str
    size: int
    sha256: str


class StoredFileFields(models.Model):
    """The columns of a row that keeps a stored file (a case's material): inherit them."""

    storage_name = models.CharField(max_length=200, unique=True, editable=False)
    original_name = models.CharField(max_length=MAX_NAME_LENGTH + 10)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def stored(self) -> StoredUpload:
        return StoredUpload(
            self.storage_name, self.original_name, self.content_type, self.size, self.sha256
        )

    @staticmethod
    def values_of(stored: StoredUpload) -> dict:
        return {
            "storage_name": stored.storage_name,
            "original_name": stored.original_name,
            "content_type": stored.content_type,
            "size": stored.size,
            "sha256": stored.sha256,
        }


def upload_storage():
    return storages["uploads"]


def size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} 字节"


class SizeLimitHandler(FileUploadHandler):
    """Stops receiving a file once it passes UPLOAD_MAX_BYTES: the rest of it is read past, not
    kept, and the field is listed in `request.uploads_too_large` for `uploaded_file`."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            too_large = getattr(self.request, "uploads_too_large", set())
            too_large.add(self.field_name)
            self.request.uploads_too_large = too_large
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler keeps the file


def uploaded_file(request, field: str):
    """The file sent in `field`, or UploadRefused saying why there is none."""
    if field in getattr(request, "uploads_too_large", ()):
        raise UploadRefused(
            f"文件过大：最大 {size_text(settings.UPLOAD_MAX_BYTES)}，请压缩或分开上传。"
        )
    upload = request.FILES.get(field)
    if upload is None:
        raise UploadRefused("没有收到文件，请选择文件后再上传。")
    return upload


def clean_file_name(name: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UploadRefused("文件名含有控制字符（如 NUL），请改名后重新上传。")
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if len(name) > MAX_NAME_LENGTH:
        raise UploadRefused(f"文件名过长：最多 {MAX_NAME_LENGTH} 个字符，请改名后重新上传。")
    return name or "文件"


def _described(head: bytes) -> str | None:
    """What refused content is, named for the person who sent it; None if nothing refused."""
    if head.startswith(b"MZ"):
        return "Windows 可执行文件"
    if head.startswith(b"\x7fELF"):
        return "Linux 可执行文件"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
    ):
        return "macOS 可执行文件"
    if head.startswith(b"#!"):
        return "脚本"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        if b"<svg" in text:
            return "SVG 图像（可含脚本）"
        if any(
            tag in text for tag in (b"<html", b"<!doctype html", b"<script", b"<body", b"<head")
        ):
            return "HTML 网页"
        return "XML 或网页标记"
    return None


def _zip_kind(file) -> tuple[str | None, str]:
    """(accepted kind, description) of a ZIP container, from the names inside it."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None, "损坏的压缩文件"
    if "OFD.xml" in names:
        return "ofd", ACCEPTED["ofd"].label
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            if "word/vbaProject.bin" in names:
                return None, "含宏的 Word 文档"
            return "docx", ACCEPTED["docx"].label
        if "xl/workbook.xml" in names:
            if "xl/vbaProject.bin" in names:
                return None, "含宏的 Excel 表格"
            return "xlsx", ACCEPTED["xlsx"].label
    return None, "ZIP 压缩包"


def detect_kind(file) -> tuple[str | None, str]:
    """(accepted kind or None, what the content is) of a seekable file, from its content."""
    file.seek(0)
    head = file.read(8192)
    described = _described(head)
    if described:
        return None, described
    if head.startswith(b"PK\x03\x04"):
        file.seek(0)
        return _zip_kind(file)
    guess = filetype.guess(head)
    if guess is None:
        return None, "无法识别的内容"
    for kind, accepted in ACCEPTED.items():
        if guess.mime == accepted.mime and kind not in ("ofd", "docx", "xlsx"):
            return kind, accepted.label
    return None, f"{guess.extension.upper()} 文件"


def store_upload(upload, *, max_bytes: int | None = None) -> StoredUpload:
    """Check an uploaded file (a Django UploadedFile or any File) and store it; UploadRefused
    with the reason in Chinese otherwise."""
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    name = clean_file_name(upload.name or "")
    if upload.size is not None and upload.size > max_bytes:
        raise UploadRefused(f"文件过大：最大 {size_text(max_bytes)}，请压缩或分开上传。")
    if not upload.size:
        raise UploadRefused("文件是空的，请检查后重新上传。")
    kind, described = detect_kind(upload)
    stem, dot, extension = name.rpartition(".")
    claimed = CLAIMED_BY_EXTENSION.get(extension.lower()) if dot else None
    if kind is None:
        if claimed:
            raise UploadRefused(
                f"文件类型不符：内容是 {described}，不是 {ACCEPTED[claimed].label}。"
            )
        raise UploadRefused(f"不接受这种文件：内容是 {described}；只接受 {ACCEPTED_LIST}。")
    accepted = ACCEPTED[kind]
    if claimed != kind:  # a PNG named .jpg downloads as .png and opens as what it is
        name = f"{stem if dot else name}.{accepted.extension}"[-(MAX_NAME_LENGTH + 10) :]

    digest, size = hashlib.sha256(), 0
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise UploadRefused(f"文件过大：最大 {size_text(max_bytes)}，请压缩或分开上传。")
        digest.update(chunk)
    upload.seek(0)
    # Random and flat: the name tells nothing of the file, its owner or its case.
    storage_name = f"{timezone.now():%Y/%m}/{secrets.token_urlsafe(32)}"
    storage_name = upload_storage().save(storage_name, upload)
    return StoredUpload(storage_name, name, accepted.mime, size, digest.hexdigest())


def delete_upload(stored: StoredUpload) -> None:
    upload_storage().delete(stored.storage_name)


def serve_upload(request, stored: StoredUpload, *, authorize) -> HttpResponse:
    """The stored file as a download, if `authorize(request.user, stored)` allows it (the caller
    knows what the file belongs to: a case's applicant, its unit's staff); PermissionDenied
    otherwise. The file is read twice: once to check its SHA-256, then to send it, so that a
    file changed in storage is never sent (up to UPLOAD_MAX_BYTES each time)."""
    if not authorize(request.user, stored):
        raise PermissionDenied("你无权下载这个文件。")
    storage = upload_storage()
    digest = hashlib.sha256()
    with storage.open(stored.storage_name, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    if digest.hexdigest() != stored.sha256:
        logger.error("Stored file %s does not match its SHA-256: not served", stored.storage_name)
        return HttpResponse(
            "文件校验未通过，可能已损坏，暂不能下载；请联系受理单位。",
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(
        storage.open(stored.storage_name, "rb"),
        as_attachment=True,
        filename=stored.original_name,
        content_type=stored.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
