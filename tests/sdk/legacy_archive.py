#!/usr/bin/env python3
"""Independent implementation of the legacy "TazPod" secrets archive, for interop tests.

Format (all lengths in bytes):

    salt (32) | nonce (12) | AES-256-GCM ciphertext | GCM tag (16)

    key       = PBKDF2-HMAC-SHA256(passphrase, salt, 100000 iterations, 32 bytes)
    AAD       = none
    plaintext = gzip( tar of a folder )   regular files and directories only,
                                          paths relative to the folder, modes kept

Usage:

    python legacy_archive.py seal DIR OUT --passphrase-file F
    python legacy_archive.py open ARCHIVE OUTDIR --passphrase-file F

`seal` archives DIR's contents (e.g. `vault/vault-unseal-key-1`) with a fresh random
salt and nonce and writes OUT (mode 0600). `open` decrypts and verifies ARCHIVE,
checks every entry (no absolute paths, no `..`, no links or special files), extracts
into OUTDIR (created if missing; it must be empty) and prints one line per regular
file, sorted by path: `<relative path> <size> <mode in octal, 4 digits>`.

The passphrase is the passphrase file's bytes with ONE trailing "\\n" removed.

Exit codes: 0 ok; 2 usage or I/O error; 3 wrong passphrase or tampered/truncated
archive; 4 unsafe or malformed archive content (or unsupported entry when sealing).
No message ever contains the passphrase.
Install the dependency with: pip install -r requirements.txt
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import stat
import sys
import tarfile
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

SALT_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
KEY_LEN = 32
PBKDF2_ITERATIONS = 100_000

EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CONTENT = 4


class Failure(Exception):
    """An error to report on stderr, with the process exit code to use."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- crypto


def read_passphrase(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise Failure(EXIT_USAGE, f"cannot read passphrase file {path!r}: {exc.strerror}") from None
    if data.endswith(b"\n"):
        data = data[:-1]
    return data


def derive_key(passphrase: bytes, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=KEY_LEN,
        salt=salt,
        iterations=PBKDF2_ITERATIONS,
    )
    return kdf.derive(passphrase)


def encrypt(passphrase: bytes, plaintext: bytes) -> bytes:
    salt = os.urandom(SALT_LEN)
    nonce = os.urandom(NONCE_LEN)
    sealed = AESGCM(derive_key(passphrase, salt)).encrypt(nonce, plaintext, None)
    return salt + nonce + sealed  # sealed = ciphertext || 16-byte tag


def decrypt(passphrase: bytes, blob: bytes) -> bytes:
    if len(blob) < SALT_LEN + NONCE_LEN + TAG_LEN:
        raise Failure(
            EXIT_AUTH,
            f"archive is too short ({len(blob)} bytes) to hold salt, nonce and tag: truncated or not an archive",
        )
    salt = blob[:SALT_LEN]
    nonce = blob[SALT_LEN : SALT_LEN + NONCE_LEN]
    sealed = blob[SALT_LEN + NONCE_LEN :]
    try:
        return AESGCM(derive_key(passphrase, salt)).decrypt(nonce, sealed, None)
    except InvalidTag:
        raise Failure(
            EXIT_AUTH,
            "decryption failed: wrong passphrase, or the archive is corrupted or was tampered with",
        ) from None


# --------------------------------------------------------------------------- seal


def build_tar(src: str) -> bytes:
    """Tar the contents of src: dirs and regular files, paths relative to src, sorted."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(abs_path: str, rel: str) -> None:
            st = os.lstat(abs_path)
            info = tarfile.TarInfo(rel)
            info.mode = stat.S_IMODE(st.st_mode)
            info.mtime = int(st.st_mtime)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                for name in sorted(os.listdir(abs_path)):
                    add(os.path.join(abs_path, name), f"{rel}/{name}")
            elif stat.S_ISREG(st.st_mode):
                info.type = tarfile.REGTYPE
                info.size = st.st_size
                with open(abs_path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                kind = "symbolic link" if stat.S_ISLNK(st.st_mode) else "special file"
                raise Failure(EXIT_CONTENT, f"refusing to archive {rel!r}: it is a {kind}")

        for name in sorted(os.listdir(src)):
            add(os.path.join(src, name), name)
    return buf.getvalue()


def cmd_seal(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args.passphrase_file)
    if not passphrase:
        raise Failure(EXIT_USAGE, "refusing to seal with an empty passphrase")
    if not os.path.isdir(args.dir) or os.path.islink(args.dir):
        raise Failure(EXIT_USAGE, f"{args.dir!r} is not a directory")
    try:
        payload = gzip.compress(build_tar(args.dir), mtime=0)
    except OSError as exc:
        raise Failure(EXIT_USAGE, f"cannot read {exc.filename!r}: {exc.strerror}") from None
    blob = encrypt(passphrase, payload)

    out = args.out
    tmp = f"{out}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise Failure(EXIT_USAGE, f"cannot write {out!r}: {exc.strerror}") from None
    return 0


# --------------------------------------------------------------------------- open


def safe_relpath(name: str) -> str:
    """Normalise a member name to a relative path, or raise if it is unsafe."""
    if name.startswith("/"):
        raise Failure(EXIT_CONTENT, f"unsafe entry {name!r}: absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Failure(EXIT_CONTENT, f"unsafe entry {name!r}: contains '..'")
    if "\x00" in name:
        raise Failure(EXIT_CONTENT, f"unsafe entry {name!r}: contains NUL")
    return "/".join(parts)


def describe_type(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device file"
    if member.isfifo():
        return "fifo"
    if member.issparse():
        return "sparse file"
    return f"entry of type {member.type!r}"


def check_members(tar: tarfile.TarFile) -> list[tuple[str, tarfile.TarInfo]]:
    """Validate every entry before anything is written to disk."""
    seen: dict[str, bool] = {}  # path -> is_dir
    entries: list[tuple[str, tarfile.TarInfo]] = []
    for member in tar.getmembers():
        rel = safe_relpath(member.name)
        if member.isdir():
            if rel == "":
                continue  # "./" root entry
        elif member.isreg() and not member.issparse():
            if rel == "":
                raise Failure(EXIT_CONTENT, f"unsafe entry {member.name!r}: file with empty path")
        else:
            raise Failure(EXIT_CONTENT, f"refusing entry {member.name!r}: {describe_type(member)} not allowed")
        if rel in seen:
            raise Failure(EXIT_CONTENT, f"duplicate entry {rel!r} in archive")
        # A path used as a file cannot also be a parent of something else.
        parts = rel.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if seen.get(parent) is False:
                raise Failure(EXIT_CONTENT, f"entry {rel!r} is below {parent!r}, which is a file")
        seen[rel] = member.isdir()
        entries.append((rel, member))
    for rel, is_dir in seen.items():
        if not is_dir:
            prefix = rel + "/"
            if any(other.startswith(prefix) for other in seen):
                raise Failure(EXIT_CONTENT, f"entry {rel!r} is a file but other entries are below it")
    return entries


def ensure_inside(root: str, path: str) -> None:
    real = os.path.realpath(path)
    if real != root and not real.startswith(root + os.sep):
        raise Failure(EXIT_CONTENT, f"refusing to write outside the output directory: {path!r}")


def extract(tar: tarfile.TarFile, entries: list[tuple[str, tarfile.TarInfo]], outdir: str) -> list[tuple[str, int, int]]:
    root = os.path.realpath(outdir)
    files: list[tuple[str, int, int]] = []
    dir_modes: list[tuple[str, int]] = []
    for rel, member in entries:
        target = os.path.join(root, *rel.split("/"))
        parent = os.path.dirname(target)
        os.makedirs(parent, mode=0o700, exist_ok=True)
        ensure_inside(root, parent)
        mode = member.mode & 0o777  # keep permission bits; never setuid/setgid/sticky
        if member.isdir():
            if not os.path.isdir(target) or os.path.islink(target):
                os.mkdir(target, 0o700)
            dir_modes.append((target, mode))
            continue
        src = tar.extractfile(member)
        if src is None:
            raise Failure(EXIT_CONTENT, f"cannot read data of entry {rel!r}")
        data = src.read()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
        files.append((rel, len(data), mode))
    # Apply directory modes last, deepest first, so read-only dirs do not block writes.
    for path, mode in sorted(dir_modes, key=lambda item: item[0].count(os.sep), reverse=True):
        os.chmod(path, mode)
    return sorted(files)


def cmd_open(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args.passphrase_file)
    try:
        with open(args.archive, "rb") as fh:
            blob = fh.read()
    except OSError as exc:
        raise Failure(EXIT_USAGE, f"cannot read archive {args.archive!r}: {exc.strerror}") from None

    payload = decrypt(passphrase, blob)
    try:
        tar_bytes = gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as exc:
        raise Failure(EXIT_CONTENT, f"decrypted payload is not valid gzip: {exc}") from None
    try:
        tar = tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:")
        entries = check_members(tar)
    except tarfile.TarError as exc:
        raise Failure(EXIT_CONTENT, f"decrypted payload is not a valid tar archive: {exc}") from None

    outdir = args.outdir
    if os.path.lexists(outdir):
        if os.path.islink(outdir) or not os.path.isdir(outdir):
            raise Failure(EXIT_USAGE, f"output path {outdir!r} exists and is not a directory")
        if os.listdir(outdir):
            raise Failure(EXIT_USAGE, f"output directory {outdir!r} is not empty")
    else:
        try:
            os.makedirs(outdir, mode=0o700)
        except OSError as exc:
            raise Failure(EXIT_USAGE, f"cannot create {outdir!r}: {exc.strerror}") from None

    try:
        files = extract(tar, entries, outdir)
    except OSError as exc:
        raise Failure(EXIT_USAGE, f"cannot extract to {exc.filename or outdir!r}: {exc.strerror}") from None
    for rel, size, mode in files:
        print(f"{rel} {size} {mode:04o}")
    return 0


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Legacy TazPod secrets archive (seal / open).")
    sub = parser.add_subparsers(dest="command", required=True)

    seal = sub.add_parser("seal", help="archive, compress and encrypt a folder")
    seal.add_argument("dir", metavar="DIR")
    seal.add_argument("out", metavar="OUT")
    seal.add_argument("--passphrase-file", required=True, metavar="F")
    seal.set_defaults(func=cmd_seal)

    opn = sub.add_parser("open", help="decrypt, verify and extract an archive")
    opn.add_argument("archive", metavar="ARCHIVE")
    opn.add_argument("outdir", metavar="OUTDIR")
    opn.add_argument("--passphrase-file", required=True, metavar="F")
    opn.set_defaults(func=cmd_open)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Failure as exc:
        print(f"legacy_archive {args.command}: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
