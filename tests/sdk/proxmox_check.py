#!/usr/bin/env python3
"""Cross-check the fake Proxmox VE API against `proxmoxer`, the Python client most
Proxmox tooling (Ansible's community.proxmox among them) is built on.

Usage: python proxmox_check.py BASE_URL TOKEN CA_PEM [NODE]

BASE_URL is what `fakecloud proxmox` prints first (https://127.0.0.1:PORT); TOKEN is
USER@REALM!TOKENID=SECRET; CA_PEM is the file `--ca-out` wrote: TLS is verified against it,
never turned off. The script clones the template, waits for the task, configures the VM,
uploads a cidata ISO, boots the VM from it, finds the VM in cluster/resources, stops and
destroys it, checks the errors proxmoxer reports on the way, and cleans up after itself.
It exits non-zero with a clear message at the first mismatch and prints
"proxmox check: N checks passed" at the end.
Install proxmoxer with: pip install -r requirements.txt
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import urllib.parse
import uuid

import requests
from proxmoxer import ProxmoxAPI, ResourceException

PASSED = 0
TEMPLATE = 9000


class Mismatch(Exception):
    pass


def check(what: str, ok: bool, detail: object = "") -> None:
    """Count one check; stop at the first one that fails."""
    global PASSED
    if not ok:
        raise Mismatch(f"{what}{': ' + str(detail) if detail != '' else ''}")
    PASSED += 1


def expect_error(what: str, status: int, fn, reason: str | None = None) -> ResourceException:
    """fn() must raise a ResourceException with this HTTP status (and reason phrase)."""
    try:
        result = fn()
    except ResourceException as e:
        check(f"{what}: status", e.status_code == status, f"got {e.status_code} {e.content!r}, want {status}")
        if reason is not None:
            check(f"{what}: reason phrase", e.content == reason, f"got {e.content!r}, want {reason!r}")
        return e
    raise Mismatch(f"{what}: expected HTTP {status}, got a result: {result!r}")


def wait(api: ProxmoxAPI, node: str, upid: str, timeout: float = 30.0) -> dict:
    """Poll a task until it stops; return its status."""
    check("a task id is a UPID", isinstance(upid, str) and upid.startswith(f"UPID:{node}:"), upid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        check("a running task has no exitstatus", "exitstatus" not in status, status)
        time.sleep(0.1)
    raise Mismatch(f"task {upid} did not stop within {timeout} s")


def wait_ok(api: ProxmoxAPI, node: str, upid: str, what: str) -> dict:
    status = wait(api, node, upid)
    check(f"{what}: task OK", status.get("exitstatus") == "OK", status)
    return status


def main(base_url: str, token: str, ca_pem: str, node: str = "pve") -> None:
    url = urllib.parse.urlsplit(base_url)
    check("base URL is https", url.scheme == "https", base_url)
    tokenid, secret = token.split("=", 1)
    user, token_name = tokenid.rsplit("!", 1)

    def client(value: str = secret, verify: object = ca_pem) -> ProxmoxAPI:
        return ProxmoxAPI(
            url.hostname,
            port=url.port,
            user=user,
            token_name=token_name,
            token_value=value,
            verify_ssl=verify,
            timeout=15,
        )

    api = client()

    # TLS and authentication.
    version = api.version.get()
    check("version has release", isinstance(version.get("release"), str), version)
    try:
        client(verify=True).version.get()
        raise Mismatch("a client that does not trust the fake's CA was accepted")
    except requests.exceptions.SSLError:
        check("a client without the CA is refused", True)
    expect_error("wrong token secret", 401, lambda: client("wrong").version.get(), "invalid token value!")

    nodes = api.nodes.get()
    check("nodes lists the node", [n["node"] for n in nodes] == [node], nodes)
    check("node is online", nodes[0]["status"] == "online", nodes[0])

    # nextid: a string; a taken id is a parameter error.
    nextid = api.cluster.nextid.get()
    check("nextid is a string", isinstance(nextid, str) and nextid.isdigit(), repr(nextid))
    vmid = int(nextid)
    e = expect_error("nextid of a taken id", 400, lambda: api.cluster.nextid.get(vmid=TEMPLATE), "Parameter verification failed.")
    check("nextid error names vmid", "vmid" in (e.errors or {}), e.errors)

    # Clone the template (full) and wait for the task.
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    upid = api.nodes(node).qemu(TEMPLATE).clone.post(newid=vmid, name=name, full=1)
    status = wait_ok(api, node, upid, "clone")
    check("clone task type", status["type"] == "qmclone", status)
    check("clone task id is the source", status["id"] == str(TEMPLATE), status)
    check("clone task user is the token", status["user"] == tokenid, status)
    expect_error(
        "clone onto an existing id",
        500,
        lambda: api.nodes(node).qemu(TEMPLATE).clone.post(newid=vmid),
        f"unable to create VM {vmid}: config file already exists",
    )

    # Configure it: synchronous PUT, then an unknown key.
    vm = api.nodes(node).qemu(vmid)
    check("PUT config returns null", vm.config.put(cores=2, memory=2048, tags="tazhost;sdk-check", description="proxmoxer") is None)
    config = vm.config.get()
    check("cores is a number", config.get("cores") == 2, config)
    check("memory is a string", config.get("memory") == "2048", config)
    check("tags are sorted", config.get("tags") == "sdk-check;tazhost", config)
    check("name set by clone", config.get("name") == name, config)
    check("config has a digest", len(config.get("digest", "")) == 40, config)
    e = expect_error("unknown config key", 400, lambda: vm.config.put(bogus=1), "Parameter verification failed.")
    check("unknown key named in errors", "bogus" in (e.errors or {}), e.errors)

    # Upload a cidata ISO (multipart, file field 'filename').
    iso_bytes = b"CD001" + os.urandom(4096) + b"\x00" * 2048
    with tempfile.TemporaryDirectory() as tmp:
        iso_name = f"cidata-{name}.iso"
        path = os.path.join(tmp, iso_name)
        with open(path, "wb") as f:
            f.write(iso_bytes)
        with open(path, "rb") as f:
            upid = api.nodes(node).storage("local").upload.post(content="iso", filename=f)
    status = wait_ok(api, node, upid, "upload")
    check("upload task type", status["type"] == "imgcopy", status)
    volid = f"local:iso/{iso_name}"
    content = api.nodes(node).storage("local").content.get(content="iso")
    entry = next((c for c in content if c["volid"] == volid), None)
    check("uploaded ISO is listed", entry is not None, content)
    check("uploaded ISO size", entry["size"] == len(iso_bytes), entry)
    check("uploaded ISO format", entry["format"] == "iso", entry)

    # Boot it from the ISO: asynchronous POST config, then start.
    upid = vm.config.post(ide2=f"{volid},media=cdrom", boot="order=scsi0;ide2;net0")
    wait_ok(api, node, upid, "config POST")
    check("ide2 set", vm.config.get().get("ide2") == f"{volid},media=cdrom")
    wait_ok(api, node, vm.status.start.post(), "start")
    current = vm.status.current.get()
    check("VM running", current.get("status") == "running", current)
    check("qmpstatus running", current.get("qmpstatus") == "running", current)
    e = expect_error("destroying a running VM", 500, lambda: vm.delete(), f"VM {vmid} is running - destroy failed")

    # Find it by name in cluster/resources.
    resources = api.cluster.resources.get(type="vm")
    found = [r for r in resources if r.get("name") == name]
    check("found by name in cluster/resources", len(found) == 1, resources)
    check("resource id", found[0]["id"] == f"qemu/{vmid}", found[0])
    check("resource node", found[0]["node"] == node, found[0])
    check("resource status", found[0]["status"] == "running", found[0])
    check("resource tags", found[0].get("tags") == "sdk-check;tazhost", found[0])
    check("resource template", found[0].get("template") == 0, found[0])

    # Stop, destroy with purge, and clean up the ISO.
    wait_ok(api, node, vm.status.stop.post(), "stop")
    check("VM stopped", vm.status.current.get().get("status") == "stopped")
    upid = vm.delete(purge=1, **{"destroy-unreferenced-disks": 1})
    status = wait_ok(api, node, upid, "destroy")
    check("destroy task type", status["type"] == "qmdestroy", status)
    expect_error(
        "status of a destroyed VM",
        500,
        lambda: vm.status.current.get(),
        f"Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist",
    )
    wait_ok(api, node, api.nodes(node).storage("local").content(volid).delete(), "ISO delete")
    content = api.nodes(node).storage("local").content.get(content="iso")
    check("ISO gone", all(c["volid"] != volid for c in content), content)

    print(f"proxmox check: {PASSED} checks passed")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except Mismatch as e:
        print(f"proxmox check FAILED after {PASSED} checks: {e}", file=sys.stderr)
        sys.exit(1)
