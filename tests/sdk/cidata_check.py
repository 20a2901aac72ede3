#!/usr/bin/env python3
"""Inspect a NoCloud `cidata` ISO image with pycdlib, an independent ISO 9660 implementation.

Used by plugins/cidata/tests/pycdlib.rs to check images built by the tazhost-cidata crate.

Usage: cidata_check.py IMAGE

Prints one fact per line, fields separated by single spaces (names never contain spaces):

    volume_identifier <primary volume identifier, trailing spaces stripped>
    joliet_volume_identifier <Joliet volume identifier, decoded from UCS-2>
    joliet_file <name> <size> <sha256 hex>            one per file in the Joliet root
    iso9660_file <identifier> <size> <sha256 hex>      one per file in the primary root

Exits non-zero (with a message on stderr) if pycdlib rejects the image, the image has no
Joliet descriptor, its size disagrees with the volume space size, or the two trees do not
hold the same file contents.
"""

import hashlib
import io
import os
import sys

import pycdlib

SECTOR = 2048


def fail(message):
    print(f"cidata_check: {message}", file=sys.stderr)
    sys.exit(1)


def files_in_root(iso, key, encoding):
    """(name, size, sha256) of each regular file in the root directory of one tree.

    key is pycdlib's path keyword for the tree ("joliet_path" or "iso_path"), encoding
    that of its file identifiers.
    """
    found = []
    for child in iso.list_children(**{key: "/"}):
        if child.is_dot() or child.is_dotdot() or child.is_dir():
            continue
        name = child.file_identifier().decode(encoding)
        content = io.BytesIO()
        iso.get_file_from_iso_fp(content, **{key: "/" + name})
        data = content.getvalue()
        if len(data) != child.get_data_length():
            fail(f"{name}: read {len(data)} bytes, record says {child.get_data_length()}")
        found.append((name, len(data), hashlib.sha256(data).hexdigest()))
    return found


def main():
    if len(sys.argv) != 2:
        fail("usage: cidata_check.py IMAGE")
    path = sys.argv[1]

    iso = pycdlib.PyCdlib()
    try:
        iso.open(path)
    except pycdlib.pycdlibexception.PyCdlibException as error:
        fail(f"pycdlib rejects the image: {error}")

    if iso.pvd.space_size * SECTOR != os.path.getsize(path):
        fail(f"volume space size {iso.pvd.space_size} sectors, file {os.path.getsize(path)} bytes")
    if not iso.has_joliet():
        fail("no Joliet volume descriptor")

    print("volume_identifier", iso.pvd.volume_identifier.decode("ascii").rstrip(" "))
    print("joliet_volume_identifier", iso.joliet_vd.volume_identifier.decode("utf-16-be").rstrip(" "))

    joliet = files_in_root(iso, "joliet_path", "utf-16-be")
    primary = files_in_root(iso, "iso_path", "ascii")
    for name, size, digest in joliet:
        print("joliet_file", name, size, digest)
    for name, size, digest in primary:
        print("iso9660_file", name, size, digest)

    if sorted((s, d) for _, s, d in joliet) != sorted((s, d) for _, s, d in primary):
        fail("the Joliet and ISO 9660 trees hold different contents")
    iso.close()


if __name__ == "__main__":
    main()
