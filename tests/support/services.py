"""Real services for the team-setup tests, all on 127.0.0.1 inside a private network namespace.

Ray binds every interface and reports the machine's own address whatever it is told, so the
cluster and everything that talks to it (PostgreSQL, the MLflow server, Slurm, the xaiexp
commands) run in a namespace with loopback only, made with ``unshare --net --pid --mount-proc``
(as root). Its first process is the PID namespace's init: killing it ends every process the
services left, so a failed test cannot leave a daemon behind.
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

RAY = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"  # the CLI beside this Python


# 127.0.0.2 as well: glibc's getaddrinfo(AI_ADDRCONFIG), which Slurm uses, finds no IPv4 address
# on a machine whose only one is 127.0.0.1
LOOPBACK_ONLY = "ip link set lo up && ip addr add 127.0.0.2/8 dev lo && exec sleep infinity"


class Namespace:
    """A private network and PID namespace; ``run``/``popen`` start commands inside it."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
                                        "bash", "-c", LOOPBACK_ONLY],
                                       start_new_session=True, preexec_fn=_die_with_parent)
        self.init = self._init_pid()
        self.prefix = ["nsenter", "-t", str(self.init), "-n", "-p", "-m", "--"]
        self.wait_until(lambda: self.run(["ip", "-o", "addr", "show", "lo"]).stdout.count("127.0.0.1"),
                        10, "loopback in the namespace")

    def _init_pid(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children") as file:
                    children = file.read().split()
            except FileNotFoundError:
                children = []
            if children:
                return int(children[0])
            time.sleep(0.05)
        raise RuntimeError("unshare started no process (is this root, with unshare and nsenter?)")

    def run(self, command, timeout=600, **options):
        return subprocess.run(self.prefix + list(command), capture_output=True, text=True,
                              timeout=timeout, **options)

    def popen(self, command, log_path, **options):
        with open(log_path, "w") as log:  # the process writes to its own copy of the descriptor
            return subprocess.Popen(self.prefix + list(command), stdout=log, stderr=subprocess.STDOUT,
                                    **options)

    def python(self, code, timeout=300, **options):
        """Run Python ``code`` inside; its stdout, or an error with its stderr."""
        done = self.run([sys.executable, "-c", textwrap.dedent(code)], timeout=timeout, **options)
        if done.returncode:
            raise RuntimeError(f"exit {done.returncode}: {done.stderr[-3000:]}")
        return done.stdout

    def pids(self, pattern):
        """Host pids of the namespace's processes whose command line contains ``pattern``."""
        found = []
        for pid in os.listdir("/proc"):
            try:
                if not pid.isdigit() or os.readlink(f"/proc/{pid}/ns/pid") != self._pid_ns:
                    continue
                with open(f"/proc/{pid}/cmdline", "rb") as file:
                    if pattern in file.read().replace(b"\0", b" ").decode(errors="replace"):
                        found.append(int(pid))
            except OSError:
                continue
        return found

    @property
    def _pid_ns(self):
        return os.readlink(f"/proc/{self.init}/ns/pid")

    @staticmethod
    def wait_until(check, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise TimeoutError(f"{what}: not ready within {timeout} s")

    def stop(self):
        """Kill the namespace's init: the kernel then kills every process inside."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.init, signal.SIGKILL)
        self.holder.wait(timeout=30)


def _die_with_parent():
    """In the child before exec: SIGKILL it when the test process dies, even killed outright, so
    that ``unshare --kill-child`` takes the namespace down with it."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as probe:  # ports are per network namespace: any free one here is free there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin(program):
    """A PostgreSQL server program (Debian keeps them off PATH, under /usr/lib/postgresql/<v>/bin)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    return shutil.which(program) or program


def shared_folder(prefix):
    """A folder in /tmp that the unprivileged ``postgres`` user can use (pytest's are root's, 0700)."""
    folder = tempfile.mkdtemp(prefix=prefix)
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


class PostgreSQL:
    """A PostgreSQL server in a temporary data folder, run as the ``postgres`` user (it refuses
    root), listening on 127.0.0.1 only, trusting local connections (a test database)."""

    def __init__(self, namespace, databases=("mlflow", "optuna")):
        self.namespace, self.port = namespace, free_port()
        self.folder = shared_folder("xaiexp-pg-")
        data, self.log = os.path.join(self.folder, "data"), os.path.join(self.folder, "server.log")
        self._checked(["runuser", "-u", "postgres", "--", postgres_bin("initdb"), "-D", data, "--auth=trust",
                       "-U", "postgres", "--no-sync"])
        self.pg_ctl("start", "-w")
        for database in databases:
            self._checked(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database])

    def pg_ctl(self, action, *options):
        """``pg_ctl start`` (on 127.0.0.1 only), ``stop`` ..., as the ``postgres`` user."""
        self._checked(["runuser", "-u", "postgres", "--", postgres_bin("pg_ctl"), "-D",
                       os.path.join(self.folder, "data"), "-l", self.log, "-t", "120", "-o",
                       f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                       action, *options])

    def url(self, database):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, database, statement):
        done = self._checked(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                              database, "-At", "-c", statement])
        return done.stdout.strip()

    def _checked(self, command):
        done = self.namespace.run(command, timeout=180)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}: {done.stdout}{done.stderr}")
        return done

    def stop(self):
        with contextlib.suppress(RuntimeError):  # already stopped: the namespace's end takes what is left
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class MlflowServer:
    """``mlflow server`` on a database with proxied artifacts (README "Team setup")."""

    def __init__(self, namespace, backend_uri, folder):
        self.namespace, self.port = namespace, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(folder, "mlflow-server.log")
        self.process = namespace.popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri,
             "--artifacts-destination", os.path.join(folder, "artifacts"),
             "--host", "127.0.0.1", "--port", str(self.port)], self.log, start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # README "Team setup"
        wait_for_health(namespace, self.url, self.process, self.log)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)


def wait_for_health(namespace, url, process, log, timeout=300):
    """Poll the server from inside the namespace until a read of its store answers (~40 s on 2
    busy cores): its first ``/health`` answers come while its other workers still start."""
    code = f"""
        import time, urllib.request
        deadline = time.monotonic() + {timeout}
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen("{url}/api/2.0/mlflow/experiments/search?max_results=1",
                                       timeout=5).read()
                break
            except Exception:
                time.sleep(0.5)
        else:
            raise SystemExit(1)
    """
    done = namespace.run([sys.executable, "-c", textwrap.dedent(code)], timeout=timeout + 30)
    if done.returncode or process.poll() is not None:
        with open(log) as file:
            raise RuntimeError(f"mlflow server at {url} did not answer:\n{file.read()[-3000:]}")


class RayCluster:
    """A Ray head and one worker node, one CPU each: a two-node cluster on one machine."""

    def __init__(self, namespace, folder, env):
        self.namespace, self.port, self.env = namespace, free_port(), env
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="xaiexp-ray-")  # short: Ray's socket paths are limited
        common = ["--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
        self._start(["--head", f"--port={self.port}", "--include-dashboard=false",
                     f"--temp-dir={self.temp}", *common], os.path.join(folder, "ray-head.log"))
        self._start([f"--address={self.address}", *common], os.path.join(folder, "ray-worker.log"))
        self.nodes = self.node_ids()
        assert len(self.nodes) == 2, self.nodes

    def _start(self, arguments, log):
        done = self.namespace.run([RAY, "start", *arguments], timeout=300, env=self.env)
        with open(log, "w") as file:
            file.write(done.stdout + done.stderr)
        if done.returncode:
            raise RuntimeError(f"ray start {' '.join(arguments)}: {done.stderr[-3000:]}")

    def node_ids(self):
        """{node id: is the head} of the live nodes."""
        out = self.namespace.python(f"""
            import json, ray
            ray.init(address="{self.address}", logging_level="ERROR", log_to_driver=False)
            print(json.dumps({{n["NodeID"]: "node:__internal_head__" in n["Resources"]
                              for n in ray.nodes() if n["Alive"]}}))
        """, env=self.env)
        import json

        return json.loads(out.strip().splitlines()[-1])

    def kill_worker_node(self):
        """SIGKILL the worker node, as if its machine died: its raylet and every process under it
        (the worker processes running its jobs)."""
        raylets = [pid for pid in self.namespace.pids("raylet")
                   if _cmdline(pid).split(" ")[0].endswith("/raylet") and " --head" not in _cmdline(pid)]
        doomed = [pid for raylet in raylets for pid in _tree(raylet)]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return doomed

    def stop(self):
        self.namespace.run([RAY, "stop", "--force"], timeout=120, env=self.env)
        shutil.rmtree(self.temp, ignore_errors=True)


def _tree(pid):
    """``pid`` and all its descendants."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            children = [int(child) for child in file.read().split()]
    except OSError:
        children = []
    return [pid] + [descendant for child in children for descendant in _tree(child)]


def _alive(pid):
    """Running (a zombie is not: the namespace's init, ``sleep``, reaps nobody)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


SLURM_CONF = """\
ClusterName=xaiexp
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
AuthInfo=socket={folder}/munge.socket
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
NodeName=xaiexp NodeAddr=127.0.0.1 NodeHostname={host} CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=xaiexp Default=YES MaxTime=INFINITE State=UP
"""


class Slurm:
    """A single-node Slurm (Debian's slurm-wlm): munged with a key of its own, slurmctld and
    slurmd, on 127.0.0.1; ``env`` points Slurm's commands at it (SLURM_CONF)."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.folder = tempfile.mkdtemp(prefix="xaiexp-slurm-")
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(self.folder, sub))
        key = os.path.join(self.folder, "munge.key")
        with open(key, "wb") as file:
            file.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self._checked(["munged", "--force", f"--key-file={key}", f"--socket={self.folder}/munge.socket",
                       f"--pid-file={self.folder}/munged.pid", f"--log-file={self.folder}/munged.log",
                       f"--seed-file={self.folder}/munge.seed"])
        conf = os.path.join(self.folder, "slurm.conf")
        with open(conf, "w") as file:
            file.write(SLURM_CONF.format(host=socket.gethostname(), ctld_port=free_port(), d_port=free_port(),
                                         folder=self.folder, cpus=os.cpu_count()))
        self.env = {"SLURM_CONF": conf}
        self._checked(["slurmctld", "-i"])
        self._checked(["slurmd", "-N", "xaiexp"])
        self.namespace.wait_until(lambda: "idle" in self._checked(["sinfo", "-h", "-o", "%T"]).stdout, 60,
                                  f"slurm (see {self.folder})")

    def _checked(self, command):
        done = self.namespace.run(command, timeout=120, env={**os.environ, **getattr(self, "env", {})})
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}: {done.stdout}{done.stderr}")
        return done

    def stop(self):
        daemons = [pid for daemon in ("slurmd", "slurmctld", "munged") for pid in self.namespace.pids(daemon)
                   if _cmdline(pid).split(" ")[0].endswith(daemon)]
        for pid in daemons:
            os.kill(pid, signal.SIGTERM)
        try:  # they write their state as they stop: remove the folder after
            self.namespace.wait_until(lambda: not any(map(_alive, daemons)), 30,
                                      "slurm's daemons to stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
