#!/usr/bin/env python3
"""Cross-check the fake Hetzner Cloud API against the official `hcloud` Python SDK.

Usage: python hcloud_check.py BASE_URL TOKEN

BASE_URL is what `fakecloud hetzner` prints (e.g. http://127.0.0.1:40123, without /v1).
The SDK is pointed at BASE_URL + "/v1". The script creates, waits for, reads, lists,
deletes a server and checks the errors the SDK reports; it exits non-zero with a clear
message at the first mismatch and prints "hcloud check: N checks passed" at the end.
Install the SDK with: pip install -r requirements.txt
"""

from __future__ import annotations

import ipaddress
import sys
import uuid

from hcloud import APIException, Client
from hcloud.images import Image
from hcloud.locations import Location
from hcloud.server_types import ServerType

PASSED = 0


class Mismatch(Exception):
    pass


def check(what: str, ok: bool, detail: object = "") -> None:
    """Count one check; stop at the first one that fails."""
    global PASSED
    if not ok:
        raise Mismatch(f"{what}{': ' + str(detail) if detail != '' else ''}")
    PASSED += 1


def expect_api_error(what: str, code: str, fn) -> APIException:
    """fn() must raise an APIException with this error code."""
    try:
        result = fn()
    except APIException as e:
        check(f"{what}: error code", e.code == code, f"got {e.code!r} ({e.message}), want {code!r}")
        return e
    raise Mismatch(f"{what}: expected APIException {code!r}, got a result: {result!r}")


def main(base_url: str, token: str) -> None:
    endpoint = base_url.rstrip("/") + "/v1"
    client = Client(token=token, api_endpoint=endpoint, poll_interval=0.2, poll_max_retries=200)

    name = f"hcloud-check-{uuid.uuid4().hex[:8]}"
    labels = {"tazhost.io/cluster": "sdkcheck", "pool": "workers"}
    user_data = "#cloud-config\nruncmd:\n  - echo hello from hcloud_check\n"

    # Create.
    created = client.servers.create(
        name=name,
        server_type=ServerType(name="cx22"),
        image=Image(name="ubuntu-24.04"),
        location=Location(name="fsn1"),
        labels=labels,
        user_data=user_data,
    )
    server = created.server
    check("create: server id is an int", isinstance(server.id, int), server.id)
    check("create: name", server.name == name, server.name)
    check("create: status initializing", server.status == "initializing", server.status)
    check("create: labels", server.labels == labels, server.labels)
    check("create: server type", server.server_type.name == "cx22", server.server_type.name)
    check("create: image", server.image.name == "ubuntu-24.04", server.image.name)
    check("create: location", server.location.name == "fsn1", server.location.name)
    check("create: created is parsed", server.created is not None, server.created)
    ipv4 = server.public_net.ipv4.ip
    check(
        "create: IPv4 from a documentation range",
        ipaddress.ip_address(ipv4) in ipaddress.ip_network("203.0.113.0/24"),
        ipv4,
    )
    check("create: IPv6 network", server.public_net.ipv6.network_mask == "64", server.public_net.ipv6.ip)
    check("create: primary IPv4 id", isinstance(server.public_net.primary_ipv4.id, int))
    check("create: no private networks", not server.private_net, server.private_net)
    check("create: action command", created.action.command == "create_server", created.action.command)
    check("create: action running", created.action.status == "running", created.action.status)
    check(
        "create: action resources",
        created.action.resources == [{"id": server.id, "type": "server"}],
        created.action.resources,
    )
    check(
        "create: next_actions",
        [a.command for a in created.next_actions] == ["start_server"],
        [a.command for a in created.next_actions],
    )
    check(
        "create: root password without SSH keys",
        isinstance(created.root_password, str) and len(created.root_password) > 0,
        created.root_password,
    )

    # Wait for the actions: with the SDK's waiter, and by polling actions.get_by_id.
    created.action.wait_until_finished()
    check("wait: create action succeeded", created.action.status == "success", created.action.status)
    check("wait: progress 100", created.action.progress == 100, created.action.progress)
    check("wait: finished is set", created.action.finished is not None)
    for action in created.next_actions:
        action.wait_until_finished()
    polled = client.actions.get_by_id(created.action.id)
    check("poll: actions.get_by_id", polled.id == created.action.id and polled.status == "success", polled.status)
    via_server = client.servers.actions.get_by_id(created.next_actions[0].id)
    check("poll: servers.actions.get_by_id", via_server.command == "start_server", via_server.command)

    # Get.
    got = client.servers.get_by_id(server.id)
    check("get: status running", got.status == "running", got.status)
    check("get: same name", got.name == name, got.name)
    check("get: same labels", got.labels == labels, got.labels)
    check("get: same IPv4", got.public_net.ipv4.ip == ipv4, got.public_net.ipv4.ip)
    check("get: protection", got.protection == {"delete": False, "rebuild": False}, got.protection)
    by_name = client.servers.get_by_name(name)
    check("get_by_name", by_name is not None and by_name.id == server.id, by_name)

    # List by label selector.
    def listed(selector: str) -> list[int]:
        return [s.id for s in client.servers.get_all(label_selector=selector)]

    matching = [
        "tazhost.io/cluster=sdkcheck",
        "tazhost.io/cluster==sdkcheck,pool=workers",
        "pool in (control,workers)",
        "pool",
        "!missing",
        "pool!=control",
        "pool notin (control)",
    ]
    for selector in matching:
        check(f"list: {selector!r} matches", server.id in listed(selector), listed(selector))
    not_matching = [
        "tazhost.io/cluster=other",
        "pool=control",
        "!pool",
        "missing",
        "pool notin (workers)",
        "tazhost.io/cluster=sdkcheck,pool=control",
    ]
    for selector in not_matching:
        check(f"list: {selector!r} does not match", server.id not in listed(selector), listed(selector))
    page = client.servers.get_list(label_selector="pool=workers", page=1, per_page=1)
    check(
        "list: pagination meta",
        page.meta.pagination is not None and page.meta.pagination.per_page == 1,
        page.meta.pagination,
    )
    expect_api_error(
        "list: malformed selector",
        "invalid_input",
        lambda: client.servers.get_all(label_selector="pool in (a,b"),
    )

    # Errors.
    wrong = Client(token=token + "-wrong", api_endpoint=endpoint)
    expect_api_error("wrong token", "unauthorized", lambda: wrong.servers.get_all())
    expect_api_error(
        "duplicate name",
        "uniqueness_error",
        lambda: client.servers.create(name=name, server_type=ServerType(name="cx22"), image=Image(name="ubuntu-24.04")),
    )
    err = expect_api_error(
        "reserved label prefix",
        "invalid_input",
        lambda: client.servers.create(
            name=name + "-x",
            server_type=ServerType(name="cx22"),
            image=Image(name="ubuntu-24.04"),
            labels={"hetzner.cloud/x": "y"},
        ),
    )
    check("invalid_input details name the field", err.details["fields"][0]["name"] == "labels", err.details)
    expect_api_error(
        "user_data over 32 KiB",
        "invalid_input",
        lambda: client.servers.create(
            name=name + "-big",
            server_type=ServerType(name="cx22"),
            image=Image(name="ubuntu-24.04"),
            user_data="x" * (32 * 1024 + 1),
        ),
    )

    # Delete.
    deleted = got.delete()
    check("delete: action command", deleted.command == "delete_server", deleted.command)
    deleted.wait_until_finished()
    check("delete: action succeeded", deleted.status == "success", deleted.status)
    expect_api_error("get after delete", "not_found", lambda: client.servers.get_by_id(server.id))
    check("get_by_name after delete", client.servers.get_by_name(name) is None)
    check("list after delete", server.id not in listed("tazhost.io/cluster=sdkcheck"))

    print(f"hcloud check: {PASSED} checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1], sys.argv[2])
    except Mismatch as e:
        print(f"hcloud check FAILED after {PASSED} checks: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # an SDK crash on our JSON is a mismatch too
        print(f"hcloud check FAILED after {PASSED} checks: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1) from e
