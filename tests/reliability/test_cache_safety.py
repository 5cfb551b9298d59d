"""The on-disk cache (issue #6 item 5): private folders, refused unsafe ones, damaged files of
every kind rebuilt with a warning (never a crash, never a wrong result)."""

import os
import pathlib
import stat
import warnings

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends.cuda import sim as cuda_sim, nvrtc_gate
from tracefuse.backends import kernel_cache


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    base = tmp_path / "cache"
    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(base))
    kernel_cache.clear_memory()
    yield base
    kernel_cache.clear_memory()


def test_folders_and_the_parents_tracefuse_makes_are_private(tmp_path):
    sub = tmp_path / "a" / "b" / "cache" / "kernels"
    assert kernel_cache.usable_folder(str(sub)) == str(sub)
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "cache", sub):
        assert mode(path) == 0o700, path
    memo = tmp_path / "a" / "b" / "cache" / "nvrtc"
    assert nvrtc_gate._memo_folder(str(memo)) == str(memo) and mode(memo) == 0o700
    # a parent that is not tracefuse's (like ~/.cache) may be 0755: it is neither checked
    # nor changed
    os.chmod(tmp_path / "a", 0o755)
    assert kernel_cache.private_folder(str(tmp_path / "a" / "b" / "cache" / "sim"))[1] is None
    assert mode(tmp_path / "a") == 0o755


@pytest.mark.parametrize("where", ["base", "subfolder"])
def test_a_folder_others_can_write_is_refused(tmp_path, where):
    base = tmp_path / "cache"
    sub = base / "kernels"
    sub.mkdir(parents=True, mode=0o700)
    os.chmod(base, 0o700)
    bad = base if where == "base" else sub
    os.chmod(bad, 0o777 if where == "base" else 0o720)
    folder, reason = kernel_cache.private_folder(str(sub))
    assert folder is None
    who = "group and others" if where == "base" else "group"
    assert reason == (f"tracefuse: refusing the cache folder {bad}: it is writable by {who} "
                      f"(mode {mode(bad):04o}), and loading compiled code from it would run code "
                      f"they can put there; fix: chmod 700 {bad} or set TRACEFUSE_CACHE_DIR to "
                      "a private folder")
    with pytest.warns(RuntimeWarning, match=r"refusing the cache folder .* chmod 700") as w:
        used = kernel_cache.usable_folder(str(sub))
    assert len(w) == 1 and "\n" not in str(w[0].message)
    assert not pathlib.Path(used).is_relative_to(base) and mode(used) == 0o700
    assert str(os.stat(used).st_uid) == str(os.geteuid())
    if where == "base":  # every subfolder under a refused base is refused
        with pytest.warns(RuntimeWarning, match="refusing the cache folder"):
            assert nvrtc_gate._memo_folder(str(base / "nvrtc")) is None
    os.chmod(bad, 0o700)  # fixed as the message says
    assert kernel_cache.private_folder(str(sub)) == (str(sub), None)


def test_a_folder_above_the_cache_others_can_write_without_sticky_bit_is_refused(tmp_path):
    shared = tmp_path / "shared"
    sub = shared / "me" / "cache" / "kernels"
    sub.mkdir(parents=True, mode=0o700)
    os.chmod(shared, 0o777)  # anyone may rename shared/me and put a cache of theirs there
    folder, reason = kernel_cache.private_folder(str(sub))
    assert folder is None
    assert reason.startswith(f"tracefuse: refusing the cache folder {sub.parent}: the folder "
                             f"{shared} above it is writable by others without the sticky bit "
                             "(mode 0777)")
    with pytest.warns(RuntimeWarning, match="without the sticky bit") as w:
        used = kernel_cache.usable_folder(str(sub))
    assert len(w) == 1 and not pathlib.Path(used).is_relative_to(shared)
    os.chmod(shared, 0o1777)  # sticky, like /tmp: nobody else can rename what is ours in it
    assert kernel_cache.private_folder(str(sub)) == (str(sub), None)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_folder_above_the_cache_owned_by_another_user_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    sub = theirs / "cache" / "kernels"
    sub.mkdir(parents=True, mode=0o700)
    os.chown(theirs, 4242, -1)
    folder, reason = kernel_cache.private_folder(str(sub))
    assert folder is None and f"the folder {theirs} above it is owned by uid 4242" in reason


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_folder_of_another_user_is_refused_even_for_root(tmp_path):
    base = tmp_path / "cache"
    base.mkdir(mode=0o700)
    os.chown(base, 4242, -1)
    folder, reason = kernel_cache.private_folder(str(base / "sim"))
    assert folder is None
    assert reason.startswith(f"tracefuse: refusing the cache folder {base}: it is owned by uid "
                             "4242, not by this user (uid 0)")
    assert not (base / "sim").exists()  # nothing is made inside a refused folder


def test_a_hijacked_fallback_in_a_shared_tmp_is_not_used(tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    os.chmod(tmp, 0o1777)  # a sticky /tmp
    planted = tmp / f"tracefuse-{os.geteuid()}"
    planted.mkdir()
    os.chmod(planted, 0o777)  # as if another user had made it first
    monkeypatch.setattr(kernel_cache.tempfile, "tempdir", str(tmp))
    used = kernel_cache._fallback("kernels")
    # a path test, not a string one: mkdtemp's tracefuse-0xyz... starts with "tracefuse-0"
    assert not pathlib.Path(used).is_relative_to(planted) and mode(used) == 0o700
    assert mode(os.path.dirname(used)) == 0o700


def test_a_refused_cache_dir_still_computes_and_is_never_written(cache, monkeypatch):
    cache.mkdir()
    os.chmod(cache, 0o777)
    monkeypatch.setattr(kernel_cache.tempfile, "tempdir", str(cache.parent / "tmp"))
    (cache.parent / "tmp").mkdir()
    with pytest.warns(RuntimeWarning, match=f"refusing the cache folder {cache}: it is writable"):
        out = tx.function(lambda x: x * 3 + 1.5, backend="cpu")(np.ones(3, np.float32))
    np.testing.assert_array_equal(out.numpy(), [4.5] * 3)
    assert list(cache.iterdir()) == []


def _kernel_files(cache):
    folder = cache / "kernels"
    numba_files = sorted((folder / "__pycache__").glob("tf_*.nb*"))
    modules = {p.stem for p in folder.glob("tf_*.py")}
    for fn in kernel_cache._memory.values():  # NUMBA_CACHE_DIR sends Numba's files elsewhere
        where = pathlib.Path(getattr(getattr(fn, "_cache", None), "_cache_path", folder))
        if where != folder / "__pycache__":
            numba_files += [p for p in sorted(where.glob("tf_*.nb*"))
                            if p.name.split(".")[0] in modules]
    return folder, sorted(folder.glob("tf_*.py")), numba_files


def _damage(path, how, in_place=True):
    data = path.read_bytes()
    if not in_place:  # a library this process has mapped: damage a new file, as a disk would
        tmp = path.with_name(path.name + ".damaged")  # before another process starts
        _damage_to(tmp, data, how)
        os.replace(tmp, path)
        return
    _damage_to(path, data, how)


def _damage_to(path, data, how):
    path.write_bytes({"truncated": data[: len(data) // 2], "zeroed": bytes(len(data)),
                      "garbage": b"\x80\x04garbage" * 7, "empty": b""}[how])


@pytest.mark.parametrize("how", ["truncated", "zeroed", "garbage", "empty"])
@pytest.mark.parametrize("which", ["module", "nbi", "nbc"])
def test_damaged_kernel_cache_files_are_rebuilt_with_a_warning(cache, which, how):
    x = np.linspace(-1, 1, 9, dtype=np.float32)

    def make():
        return tx.function(lambda x: tx.exp(x) * 5 + 3, backend="cpu")

    expected = make()(x).numpy()
    np.testing.assert_allclose(expected, np.exp(x) * 5 + 3, rtol=1e-6)
    _, modules, numba_files = _kernel_files(cache)
    targets = {"module": modules, "nbi": [p for p in numba_files if p.suffix == ".nbi"],
               "nbc": [p for p in numba_files if p.suffix == ".nbc"]}[which]
    assert targets
    for path in targets:
        _damage(path, how)
    kernel_cache.clear_memory()  # as a new process would: only the disk
    with pytest.warns(RuntimeWarning, match="damaged"):
        got = make()(x).numpy()
    np.testing.assert_array_equal(got, expected)
    kernel_cache.clear_memory()  # and the rebuilt entry serves the next one without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(make()(x).numpy(), expected)


SIM_SRC = ("extern \"C\" __global__ void fill(float* o0, float v) {\n"
           "    o0[threadIdx.x] = v + 1.0f; }  // test_cache_safety\n")


@pytest.mark.skipif(cuda_sim.compiler_unavailable() is not None,
                    reason=str(cuda_sim.compiler_unavailable()))
def test_a_damaged_sim_library_is_never_loaded_and_is_rebuilt(cache, monkeypatch):
    params = {"fill": ["float*", "float"]}
    monkeypatch.setattr(cuda_sim, "_loaded", {})
    path = cuda_sim.SimModule(SIM_SRC, params).library_path
    record = path[:-3] + ".sha256"
    assert os.path.exists(record) and mode(os.path.dirname(path)) == 0o700
    opened = []
    real_open = cuda_sim._open
    monkeypatch.setattr(cuda_sim, "_open", lambda p, n: (opened.append(p), real_open(p, n))[1])
    for how in ["truncated", "zeroed", "garbage", "empty", "no record"]:
        if how == "no record":
            os.remove(record)
        else:
            _damage(pathlib.Path(path), how, in_place=False)
        monkeypatch.setattr(cuda_sim, "_loaded", {})
        before = cuda_sim.builds
        opened.clear()
        if how == "no record":  # an older tracefuse's library: rebuilt quietly, not loaded
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                mod = cuda_sim.SimModule(SIM_SRC, params)
        else:
            with pytest.warns(RuntimeWarning, match="did not load"):
                mod = cuda_sim.SimModule(SIM_SRC, params)
        assert cuda_sim.builds == before + 1 and len(opened) == 1  # only the rebuilt one
        out = np.zeros(32, np.float32)
        mod.launch("fill", 1, 32, [out, 2.5])
        assert (out == 3.5).all()


@pytest.mark.skipif(cuda_sim.compiler_unavailable() is not None,
                    reason=str(cuda_sim.compiler_unavailable()))
def test_a_damaged_precompiled_shim_still_builds(cache, monkeypatch):
    monkeypatch.setattr(cuda_sim, "_loaded", {})
    cuda_sim.SimModule(SIM_SRC.replace("safety", "shim 1"), {"fill": ["float*", "float"]})
    folder = cache / "sim"
    for path in list(folder.glob("shim_*.h")) + list(folder.glob("shim_*.h.gch")):
        _damage(path, "truncated")
    cuda_sim._precompiled_shim.cache_clear()
    mod = cuda_sim.SimModule(SIM_SRC.replace("safety", "shim 2"), {"fill": ["float*", "float"]})
    out = np.zeros(32, np.float32)
    mod.launch("fill", 1, 32, [out, 1.0])
    assert (out == 2.0).all()
    cuda_sim._precompiled_shim.cache_clear()


@pytest.mark.parametrize("how", ["truncated", "zeroed", "garbage", "empty"])
def test_a_damaged_nvrtc_memo_file_means_compiling_again(cache, monkeypatch, how):
    monkeypatch.setattr(nvrtc_gate, "nvrtc_version", lambda: "13.0 (test)")
    key = nvrtc_gate._key("src", "sm_90", ())
    nvrtc_gate._record_on_disk(key, "sm_90", ())
    assert nvrtc_gate._passed_on_disk(key, "sm_90", ())
    path = cache / "nvrtc" / key
    _damage(path, how)
    with pytest.warns(RuntimeWarning, match="memo file .* was damaged"):
        assert not nvrtc_gate._passed_on_disk(key, "sm_90", ())
    assert not path.exists()


@pytest.mark.skipif(nvrtc_gate.unavailable() is not None, reason=str(nvrtc_gate.unavailable()))
def test_check_sources_recompiles_after_a_damaged_memo(cache):
    src = 'extern "C" __global__ void k(float* o) { o[threadIdx.x] = 1.0f; }  // memo\n'
    nvrtc_gate.clear_memo()
    assert nvrtc_gate.check_sources([src], archs=("sm_80",)) == 1
    (memo,) = [p for p in (cache / "nvrtc").iterdir() if not p.name.startswith(".")]
    memo.write_bytes(b"")
    nvrtc_gate.clear_memo()
    with pytest.warns(RuntimeWarning, match="was damaged"):
        assert nvrtc_gate.check_sources([src], archs=("sm_80",)) == 1
    nvrtc_gate.clear_memo()
    assert nvrtc_gate.check_sources([src], archs=("sm_80",)) == 0
