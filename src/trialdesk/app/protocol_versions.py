"""Protocol versions stored in the site's database, and the engine for the active one.

A version is the whole protocol folder (``protocol.yaml``, ``criteria.yaml``, ``valuesets/``,
the registry text, ...) kept as ``{relative path: text}`` in ``protocol_versions.files``, so
that any process, after any restart, screens with exactly the files that were checked. The
stored files are loaded again through the strict loader and must hash to the stored sha256.

A folder is accepted only if the strict loader (:func:`trialdesk.protocol.load.load`) reads it
and lint (:func:`trialdesk.protocol.lint.lint`) finds no error; otherwise
:class:`ProtocolRefused` lists the problems. It comes as a folder (CLI) or as a zip or tar
archive of the folder (web upload).
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from trialdesk.app import audit
from trialdesk.app.audit import canonical
from trialdesk.app.errors import Conflict, Invalid, NotFound
from trialdesk.app.models import ProtocolVersion, User
from trialdesk.app.workspace import Engine
from trialdesk.errors import ProtocolError
from trialdesk.protocol.lint import lint
from trialdesk.protocol.load import load
from trialdesk.protocol.model import Protocol
from trialdesk.site import ReferenceIntervals

__all__ = ["ActiveProtocol", "Checked", "ProtocolRefused", "active_version", "check_files", "ensure_initial",
           "files_of_archive", "files_of_folder", "public", "store", "version_by_id", "versions"]

log = logging.getLogger("trialdesk.app")

MAX_FILES = 1000
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_ID, MAX_VERSION = 64, 40  # the widths of protocol_versions.protocol_id / .version
_JUNK = ("__MACOSX/", ".DS_Store")  # what archivers add by themselves


class ProtocolRefused(Invalid):
    """The protocol folder cannot be used; ``problems`` says where and why, one entry each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the protocol was refused: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Checked:
    """A protocol folder that passed the loader and lint: its files, the protocol, lint warnings."""

    files: dict[str, str]
    protocol: Protocol
    warnings: list[str]


# ---------------------------------------------------------------- reading a folder or an archive

def files_of_folder(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as ``{relative posix path: text}``.

    Raises:
        ProtocolRefused: not a folder, too many or too large files, or a file that is not UTF-8.
    """
    if not folder.is_dir():
        raise ProtocolRefused([f"{folder}: not a folder"])
    raw = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    _check_sizes(len(raw), sum(p.stat().st_size for p in raw.values()))
    return _decoded({name: p.read_bytes() for name, p in raw.items()})


def files_of_archive(content: bytes) -> dict[str, str]:
    """The files of a zip or tar (optionally gzip/bzip2/xz) archive of a protocol folder.

    The folder is the archive's root or its one top-level folder. Directory entries and what
    archivers add by themselves (``__MACOSX/``, ``.DS_Store``) are skipped.

    Raises:
        ProtocolRefused: not such an archive; an absolute path, ``..``, a link or a device
            inside it; too many or too large files; a file that is not UTF-8.
    """
    try:
        members = _zip_members(content) if zipfile.is_zipfile(io.BytesIO(content)) else _tar_members(content)
    except ProtocolRefused:
        raise
    except tarfile.ReadError:
        raise ProtocolRefused(["the upload is not a zip or tar archive of a protocol folder"]) from None
    except Exception as exc:  # zipfile and tarfile raise assorted errors on a damaged archive
        raise ProtocolRefused([f"the archive cannot be read ({type(exc).__name__}: {exc})"]) from None
    members = {k: v for k, v in members.items() if not any(j in k for j in _JUNK)}
    if "protocol.yaml" not in members:
        tops = {k.split("/", 1)[0] for k in members}
        if len(tops) == 1 and f"{next(iter(tops))}/protocol.yaml" in members:
            cut = len(next(iter(tops))) + 1
            members = {k[cut:]: v for k, v in members.items()}
    if "protocol.yaml" not in members:
        raise ProtocolRefused(["the archive has no protocol.yaml at its root or in its one top-level folder"])
    return _decoded(members)


def _zip_members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        _check_sizes(len(infos), sum(i.file_size for i in infos))
        return {_member_name(i.filename): z.read(i) for i in infos}


def _tar_members(content: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:*") as t:
        infos = [i for i in t.getmembers() if not i.isdir()]
        _check_sizes(len(infos), sum(i.size for i in infos))
        members = {}
        for i in infos:
            f = t.extractfile(i) if i.isfile() else None
            if f is None:
                raise ProtocolRefused([f"{i.name}: links and special files are not accepted"])
            members[_member_name(i.name)] = f.read()
        return members


def _member_name(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ProtocolRefused([f"{name}: archive member paths must be relative, without '..'"])
    return path.as_posix().removeprefix("./")


def _check_sizes(count: int, total: int) -> None:
    if count > MAX_FILES:
        raise ProtocolRefused([f"{count} files: a protocol folder has at most {MAX_FILES}"])
    if total > MAX_TOTAL_BYTES:
        raise ProtocolRefused([f"{total} bytes: a protocol folder has at most {MAX_TOTAL_BYTES}"])


def _decoded(raw: dict[str, bytes]) -> dict[str, str]:
    out, problems = {}, []
    for name, data in sorted(raw.items()):
        try:
            out[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{name}: not UTF-8 text (a protocol folder holds text files only)")
    if problems:
        raise ProtocolRefused(problems)
    return out


# ---------------------------------------------------------------- checking

def _load_files(files: dict[str, str]) -> Protocol:
    """Write ``files`` to a temporary folder and load it with the strict loader."""
    with tempfile.TemporaryDirectory(prefix="trialdesk-protocol-") as tmp:
        root = Path(tmp)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        return load(root)


def check_files(files: dict[str, str]) -> Checked:
    """Load ``files`` strictly and lint them.

    Raises:
        ProtocolRefused: the loader's error (file and path), or every lint error.
    """
    try:
        protocol = _load_files(files)
    except ProtocolError as exc:
        raise ProtocolRefused([str(exc)]) from None
    except OSError as exc:  # e.g. the registry text named in protocol.yaml is missing
        raise ProtocolRefused([f"cannot read {Path(exc.filename).name if exc.filename else 'a file'}: "
                               f"{exc.strerror or exc}"]) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # malformed YAML the loader did not expect
        raise ProtocolRefused([f"the loader cannot read this protocol: {type(exc).__name__}: {exc}"]) from None
    found = lint(protocol)
    problems = [f"lint error at {w.where}: {w.message}" for w in found if w.severity == "error"]
    if len(protocol.id) > MAX_ID:
        problems.append(f"protocol.yaml: id is longer than {MAX_ID} characters")
    if len(protocol.version) > MAX_VERSION:
        problems.append(f"protocol.yaml: version is longer than {MAX_VERSION} characters")
    if problems:
        raise ProtocolRefused(problems)
    return Checked(files, protocol, [f"{w.where}: {w.message}" for w in found if w.severity != "error"])


# ---------------------------------------------------------------- stored versions

def versions(db: Session) -> list[ProtocolVersion]:
    return list(db.execute(select(ProtocolVersion).order_by(ProtocolVersion.id)).scalars())


def version_by_id(db: Session, version_id: int) -> ProtocolVersion:
    row = db.get(ProtocolVersion, version_id)
    if row is None:
        raise NotFound(f"no protocol version {version_id}")
    return row


def active_version(db: Session) -> ProtocolVersion:
    row = db.execute(select(ProtocolVersion).where(ProtocolVersion.active)).scalar_one_or_none()
    if row is None:
        raise Conflict("the site has no active protocol version")
    return row


def public(row: ProtocolVersion, users: dict[int, str] | None = None) -> dict:
    """A version as JSON (without its files); ``users`` maps user ids to user names."""
    name = (users or {}).get
    return {"id": row.id, "protocol_id": row.protocol_id, "version": row.version, "title": row.title,
            "sha256": row.sha256, "active": row.active, "loaded_at": row.loaded_at.isoformat(),
            "loaded_by": name(row.loaded_by) if row.loaded_by else None,
            "activated_at": row.activated_at.isoformat() if row.activated_at else None,
            "activated_by": name(row.activated_by) if row.activated_by else None}


def store(db: Session, user: User | None, now: datetime, checked: Checked, active: bool = False,
          actor_name: str | None = None) -> ProtocolVersion:
    """Store a checked version (inactive unless ``active``: only the initial one) and audit it.

    Raises:
        ProtocolRefused: another trial's protocol (the site screens one protocol id).
        Conflict: this content, or this version label with other content, is loaded already.
    """
    p = checked.protocol
    current = db.execute(select(ProtocolVersion).where(ProtocolVersion.active)).scalar_one_or_none()
    if current is not None and current.protocol_id != p.id:
        raise ProtocolRefused([f"protocol.yaml: id is {p.id!r}, but this site screens {current.protocol_id!r}: "
                               "an amendment keeps the protocol id"])
    same = db.execute(select(ProtocolVersion).where(ProtocolVersion.sha256 == p.sha256)).scalar_one_or_none()
    if same is not None:
        raise Conflict(f"this protocol is loaded already as version {same.version} (id {same.id})")
    label = db.execute(select(ProtocolVersion).where(ProtocolVersion.protocol_id == p.id,
                                                     ProtocolVersion.version == p.version)).scalar_one_or_none()
    if label is not None:
        raise Conflict(f"version {p.version} is loaded already with other content (sha256 {label.sha256[:12]}…): "
                       "give the amendment a new version in protocol.yaml")
    row = ProtocolVersion(protocol_id=p.id, version=p.version, title=p.title, sha256=p.sha256,
                          files=canonical(checked.files), loaded_at=now, loaded_by=user.id if user else None,
                          active=active, activated_at=now if active else None,
                          activated_by=user.id if user and active else None)
    db.add(row)
    db.flush()
    audit.append(db, at=now, actor=user, actor_name=actor_name, action="load", history_type="+",
                 entity_type="protocol", entity_key=p.id,
                 new={"version_id": row.id, "version": p.version, "sha256": p.sha256, "files": len(checked.files),
                      "active": active, "lint_warnings": len(checked.warnings)})
    return row


def ensure_initial(db: Session, configured: Protocol, folder: Path, now: datetime) -> ProtocolVersion:
    """The active version; on a database with none yet, the configured protocol (``folder``,
    loaded as ``configured``) becomes the initial, active version.

    Raises:
        Conflict: versions are stored but none is active (the database was changed by hand).
        ProtocolRefused: the configured folder does not pass the loader and lint.
    """
    row = db.execute(select(ProtocolVersion).where(ProtocolVersion.active)).scalar_one_or_none()
    if row is None:
        if db.execute(select(ProtocolVersion.id).limit(1)).first() is not None:
            raise Conflict("protocol versions are stored but none is active: the database was changed outside "
                           "trialdesk")
        try:
            row = store(db, None, now, check_files(files_of_folder(folder)), active=True, actor_name="system")
            db.commit()
        except IntegrityError:  # another process stored it first
            db.rollback()
            row = active_version(db)
    if configured.sha256 != row.sha256:
        log.warning("the configured protocol %s %s differs from the site's active protocol version %s; the active "
                    "version is used (load the folder as an amendment to change it)", configured.id,
                    configured.version, row.version)
    return row


class ActiveProtocol:
    """The engine for the site's active protocol version, looked up in the database on each use
    (so every process follows an amendment applied by another); loaded versions are cached by sha256.
    """

    def __init__(self, sessions: sessionmaker, reference_intervals: ReferenceIntervals | None) -> None:
        self._sessions = sessions
        self._intervals = reference_intervals
        self._cache: dict[str, Protocol] = {}
        self._lock = threading.Lock()

    def seed(self, protocol: Protocol) -> None:
        """Cache an already loaded protocol (the configured one, loaded at start-up)."""
        self._cache[protocol.sha256] = protocol

    def engine(self) -> Engine:
        with self._sessions.kw["bind"].connect() as conn:  # a plain connection: cheaper than a session
            sha = conn.execute(select(ProtocolVersion.sha256).where(ProtocolVersion.active)).scalar_one_or_none()
        found = self._cache.get(sha) if sha else None
        if found is not None:
            return Engine(found, self._intervals)
        with self._sessions() as db:
            return self.engine_for(db, active_version(db))

    def engine_for(self, db: Session, row: ProtocolVersion) -> Engine:
        return Engine(self.protocol_of(db, row), self._intervals)

    def protocol_of(self, db: Session, row: ProtocolVersion) -> Protocol:
        """The stored version, loaded from its files.

        Raises:
            Conflict: the stored files no longer hash to the stored sha256 (changed by hand).
        """
        found = self._cache.get(row.sha256)
        if found is not None:
            return found
        with self._lock:
            files = db.execute(select(ProtocolVersion.files).where(ProtocolVersion.id == row.id)).scalar_one()
            protocol = _load_files(json.loads(files))
            if protocol.sha256 != row.sha256:
                raise Conflict(f"protocol version {row.version}: the stored files hash to {protocol.sha256[:12]}…, "
                               f"not the recorded {row.sha256[:12]}…: the stored copy was changed")
            self._cache[row.sha256] = protocol
            return protocol
