"""Uploads (issue 10, item 2): the type is read from the content, the size limited while the file
arrives, the file stored under a random name with its SHA-256 and served only to whom the
caller's predicate allows."""

import hashlib
import io
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from govplatform.uploads import (
    UploadRefused,
    serve_upload,
    store_upload,
    upload_storage,
    uploaded_file,
)

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n" + b"x" * 2000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 100
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 50


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX = zipped("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = zipped("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml")
OFD = zipped("OFD.xml", "Doc_0/Document.xml")


@pytest.fixture(autouse=True)
def upload_folder(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "uploads"},
        },
    }
    return tmp_path / "uploads"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.mark.parametrize(
    "name, content, mime, stored_name",
    [
        ("营业执照.pdf", PDF, "application/pdf", "营业执照.pdf"),
        ("photo.JPG", JPEG, "image/jpeg", "photo.JPG"),
        ("scan.png", PNG, "image/png", "scan.png"),
        # Named as something else it is not: downloaded under its real extension.
        ("scan.jpg", PNG, "image/png", "scan.png"),
        ("电子证照.ofd", OFD, "application/ofd", "电子证照.ofd"),
        ("申请表.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "申请表.docx"),
        ("清单.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "清单.xlsx"),
    ],
)  # fmt: skip
def test_accepted_types_are_stored_with_their_checksum(
    name, content, mime, stored_name, upload_folder
):
    stored = store_upload(upload(name, content))
    assert (stored.content_type, stored.original_name) == (mime, stored_name)
    assert stored.size == len(content) and stored.sha256 == hashlib.sha256(content).hexdigest()
    on_disk = upload_folder / stored.storage_name
    assert on_disk.read_bytes() == content
    # The stored name is random: nothing of the file's name, and never twice the same.
    assert name.rsplit(".", 1)[0] not in stored.storage_name and "." not in stored.storage_name
    assert store_upload(upload(name, content)).storage_name != stored.storage_name


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("申请表.pdf", EXE, "文件类型不符：内容是 Windows 可执行文件，不是 PDF。"),
        ("photo.png", ELF, "文件类型不符：内容是 Linux 可执行文件，不是 PNG 图片。"),
        ("photo.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "文件类型不符：内容是 HTML 网页，不是 JPEG 图片。"),
        ("logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "内容是 SVG 图像（可含脚本）"),
        ("run.pdf", b"#!/bin/sh\nrm -rf /\n", "内容是 脚本，不是 PDF"),
        ("photo.jpg", GIF, "文件类型不符：内容是 GIF 文件，不是 JPEG 图片。"),
        ("申请表.docx", zipped("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), "含宏的 Word 文档"),
        ("申请表.docx", zipped("setup.exe"), "内容是 ZIP 压缩包，不是 Word 文档（DOCX）"),
        ("申请表.docx", b"PK\x03\x04broken", "损坏的压缩文件"),
        ("tool.exe", EXE, "不接受这种文件：内容是 Windows 可执行文件；只接受 PDF、JPEG、PNG、OFD、DOCX、XLSX。"),
        ("notes.txt", b"just some text", "不接受这种文件：内容是 无法识别的内容"),
    ],
)  # fmt: skip
def test_refused_content_is_named_in_chinese(name, content, message, upload_folder):
    with pytest.raises(UploadRefused) as refused:
        store_upload(upload(name, content))
    assert message in str(refused.value)
    assert not upload_folder.exists() or not [p for p in upload_folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "name, message",
    [
        ("申请\x00表.pdf", "文件名含有控制字符"),
        ("a\x1b[31m.pdf", "文件名含有控制字符"),
        ("长" * 300 + ".pdf", "文件名过长：最多 200 个字符"),
    ],
)
def test_bad_file_names_are_refused_clearly(name, message):
    with pytest.raises(UploadRefused, match=message):
        store_upload(upload(name, PDF))


def test_an_empty_or_oversized_file_is_refused():
    with pytest.raises(UploadRefused, match="文件是空的"):
        store_upload(upload("a.pdf", b""))
    with pytest.raises(UploadRefused, match="文件过大：最大 1000 字节"):
        store_upload(upload("a.pdf", PDF), max_bytes=1000)


def test_an_oversized_file_is_dropped_while_it_arrives(settings):
    """Through the request's upload handlers, as a page receiving it: past the limit the rest of
    the file is not kept, and the page can say why it has no file."""
    settings.UPLOAD_MAX_BYTES = 4096
    small = RequestFactory().post("/", {"file": upload("a.pdf", PDF)})
    assert uploaded_file(small, "file").read() == PDF
    big = RequestFactory().post("/", {"file": upload("big.pdf", PDF + b"y" * 100_000)})
    assert "file" not in big.FILES
    with pytest.raises(UploadRefused, match="文件过大：最大 4096 字节"):
        uploaded_file(big, "file")
    with pytest.raises(UploadRefused, match="没有收到文件"):
        uploaded_file(RequestFactory().post("/", {}), "file")


def test_served_only_to_whom_the_predicate_allows(django_user_model, upload_folder):
    owner = django_user_model.objects.create_user("file-owner")
    stranger = django_user_model.objects.create_user("file-stranger")
    stored = store_upload(upload("营业执照.pdf", PDF))

    def owns(user, _stored):
        return user.pk == owner.pk

    request = RequestFactory().get("/")
    request.user = stranger
    with pytest.raises(PermissionDenied, match="你无权下载这个文件"):
        serve_upload(request, stored, authorize=owns)

    request.user = owner
    response = serve_upload(request, stored, authorize=owns)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=utf-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf"
        in response["Content-Disposition"]
    )
    assert response["Cache-Control"] == "private, no-store"


def test_a_file_changed_in_storage_is_not_served(django_user_model, upload_folder):
    owner = django_user_model.objects.create_user("file-owner")
    stored = store_upload(upload("a.pdf", PDF))
    (upload_folder / stored.storage_name).write_bytes(PDF.replace(b"Catalog", b"Catalox"))
    request = RequestFactory().get("/")
    request.user = owner
    response = serve_upload(request, stored, authorize=lambda user, _stored: True)
    assert response.status_code == 500
    assert "文件校验未通过" in response.content.decode()
    assert upload_storage().exists(stored.storage_name)


def test_object_storage_is_configured_by_the_environment():
    code = (
        "import django; django.setup();"
        "from django.core.files.storage import storages; s = storages['uploads'];"
        "print(type(s).__name__, s.bucket_name, s.default_acl, s.querystring_auth)"
    )
    env = {
        **os.environ,
        "UPLOAD_S3_BUCKET": "henan-uploads",
        "DJANGO_SETTINGS_MODULE": "govplatform.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["S3Storage", "henan-uploads", "private", "True"], result.stderr
