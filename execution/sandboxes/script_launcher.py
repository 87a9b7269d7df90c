"""Run inside a script's sandbox: set its limits, forbid the service's ports, exec the script.

Started by bubblewrap with the system's python3 (standard library only), as
`python3 -I script_launcher.py MEMORY:PROCESSES:FILE_SIZE:PORT,PORT -- command...`.
The port rule uses Landlock (Linux 6.7+): TCP connect and bind are allowed on every
port but the listed ones, on every host; abstract unix sockets and signals outside the
sandbox are cut off too where the kernel can (Landlock ABI 6).
"""

from __future__ import annotations

import ctypes
import os
import resource
import struct
import sys

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # x86_64 and arm64 alike
_RULESET_VERSION = 1
_NET_PORT_RULE = 2
_TCP_BIND_AND_CONNECT = 1 | 2
_SCOPE_ABSTRACT_UNIX_AND_SIGNAL = 1 | 2
# Exit code when the sandbox itself cannot be set up (the script did not run).
SETUP_FAILED = 125


def _fail(message: str) -> None:
    sys.stderr.write(f"testrun script sandbox: {message}\n")
    sys.exit(SETUP_FAILED)


def set_limits(memory: int, processes: int, file_size: int) -> None:
    """Address space, processes of this sandbox and the largest file, in bytes and counts."""
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_NPROC, processes),
        (resource.RLIMIT_FSIZE, file_size),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def deny_ports(denied: set[int]) -> None:
    """Forbid TCP connect/bind to `denied` ports for this process and all it starts."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _RULESET_VERSION)
    if abi < 4:
        _fail("the kernel has no Landlock network rules (Linux 6.7+ with Landlock enabled)")
    if abi >= 6:
        attr = struct.pack("QQQ", 0, _TCP_BIND_AND_CONNECT, _SCOPE_ABSTRACT_UNIX_AND_SIGNAL)
    else:
        attr = struct.pack("QQ", 0, _TCP_BIND_AND_CONNECT)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), 0)
    if ruleset < 0:
        _fail(f"Landlock refused a ruleset: {os.strerror(ctypes.get_errno())}")
    rule = (ctypes.c_uint64 * 2)(_TCP_BIND_AND_CONNECT, 0)  # landlock_net_port_attr
    add_rule = libc.syscall
    refused = 0
    for port in range(65536):  # Landlock only allows: allow every port but the denied ones
        if port not in denied:
            rule[1] = port
            refused |= add_rule(_ADD_RULE, ruleset, _NET_PORT_RULE, rule, 0)
    if refused:
        _fail(f"Landlock refused a port rule: {os.strerror(ctypes.get_errno())}")
    if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
        _fail(f"Landlock could not restrict the script: {os.strerror(ctypes.get_errno())}")
    os.close(ruleset)


def main(argv: list[str]) -> None:
    """Apply the limits in `argv[1]`, then replace this process with `argv[3:]`."""
    memory, processes, file_size, ports = argv[1].split(":")
    deny_ports({int(port) for port in ports.split(",") if port})
    set_limits(int(memory), int(processes), int(file_size))
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    main(sys.argv)
