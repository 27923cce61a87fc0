"""TLS test helpers: certificates made with `openssl` at test time, TLS servers and connections.

Certificates: a test CA, a server certificate for 127.0.0.1/localhost and a second one (for
reloads), a client certificate from the same CA, a client certificate from another ("rogue") CA,
and a key that matches none of them. EC P-256 keys keep generation fast.
"""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile

from conftest import Conn

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _key(name, cwd):
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
             name + ".key", cwd=cwd)


def _ca(name, cwd):
    _key(name, cwd)
    _openssl("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".crt", "-days", "2",
             "-subj", f"/CN=cachet test {name}", cwd=cwd)


def _signed(name, ca, cn, cwd, san=None):
    _key(name, cwd)
    req = ["req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", f"/CN={cn}"]
    if san:
        req += ["-addext", f"subjectAltName={san}"]
    _openssl(*req, cwd=cwd)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-copy_extensions", "copy",
             cwd=cwd)


class Certs:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cachet-certs-")
        d = self.dir
        _ca("ca", d)
        _ca("rogue_ca", d)
        san = "IP:127.0.0.1,DNS:localhost"
        _signed("server", "ca", "localhost", d, san)
        _signed("server2", "ca", "localhost-two", d, san)
        _signed("client", "ca", "cachet client", d)
        _signed("rogue_client", "rogue_ca", "rogue client", d)
        _key("other", d)
        # The chain and key in one PEM file, as memcached's ssl_chain_cert also accepts.
        with open(self.path("combined.pem"), "w") as out:
            for part in ("server.crt", "server.key"):
                with open(self.path(part)) as f:
                    out.write(f.read())

    def path(self, name):
        return os.path.join(self.dir, name)

    def server_opts(self, *extra, cert="server.crt", key="server.key"):
        """The -o value for a TLS server with the given files (copied so tests can change
        them)."""
        opts = [f"ssl_chain_cert={self.path(cert)}", f"ssl_key={self.path(key)}", *extra]
        return ",".join(opts)

    def private_copy(self, *names):
        """Copies of some files in a fresh directory: tests that rewrite files for a reload
        must not disturb the shared ones."""
        d = tempfile.mkdtemp(prefix="cachet-certs-copy-", dir=self.dir)
        for n in names:
            shutil.copy(self.path(n), os.path.join(d, n))
        return d

    def client_context(self, verify=True, cert=None, version=None):
        """A client SSLContext that trusts the test CA (verify), presents `cert` (e.g.
        "client"), and is pinned to `version` (ssl.TLSVersion) if given."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.load_verify_locations(self.path("ca.crt"))
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(self.path(cert + ".crt"), self.path(cert + ".key"))
        if version:
            ctx.minimum_version = version
            ctx.maximum_version = version
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_ports(server):
    """Every `TCP INET: <port>` of the server's port file, in order."""
    with open(os.path.join(server.tmpdir, "ports")) as f:
        return [int(line.split(":")[1]) for line in f if line.startswith("TCP INET:")]


def start_tls(factory, certs, *args, opts=(), notls_port=None, env=None, **kw):
    """A -Z server on 127.0.0.1 (port chosen by the server); with `notls_port` also a plaintext
    listener there. `kw` picks the cert and key files (Certs.server_opts). Returns the server,
    its `port` the TLS one."""
    extra = ["-Z", "-o", certs.server_opts(*opts, **kw)]
    if notls_port:
        extra += ["-l", f"notls:127.0.0.1:{notls_port}"]
    server = factory(*extra, *args, env=env)
    server.port = next(p for p in listening_ports(server) if p != notls_port)
    return server


def tls_connect(server, ctx, cls=Conn, port=None, timeout=5, server_hostname="127.0.0.1"):
    """A `cls` connection (conftest.Conn, binary_helpers.BinConn: exact bytes) over TLS to the
    server's TLS port (or `port`). The handshake happens here."""
    raw = socket.create_connection((server.host, port or server.port), timeout=timeout)
    try:
        sock = ctx.wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise
    conn = cls.__new__(cls)
    conn.sock, conn.buf, conn.server = sock, b"", server
    return conn


def closed_without_reply(conn, timeout=5):
    """True when the server ends the connection (close, reset or TLS alert) sending no data."""
    conn.sock.settimeout(timeout)
    try:
        return conn.sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return True
