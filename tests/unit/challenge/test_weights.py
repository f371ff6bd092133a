"""Challenge weights: npz round trip, import of original-layout PyTorch checkpoints, refusal of foreign pickles,
and imports that work where torch is absent."""

import builtins
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import jax
import numpy as np
import pytest
from skip_helpers import skip_unless_required

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge import weights as W


def test_save_load_round_trip(tmp_path):
    cfg = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=24)
    p = M.init_params(cfg, jax.random.key(4))
    path = W.save(tmp_path / "w.npz", p, cfg, meta={"note": "x", "epochs": 3})
    q, cfg2 = W.load(path)
    assert cfg2 == cfg
    for k in M.PARAM_NAMES:
        np.testing.assert_array_equal(q[k], np.asarray(p[k]))
        assert q[k].dtype == np.float32
    assert W.load_meta(path) == {"note": "x", "epochs": 3}
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        W.load(tmp_path / "none.npz")
    np.savez(tmp_path / "bad.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="__config__"):
        W.load(tmp_path / "bad.npz")
    cfg = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=24)
    p = {k: np.asarray(v) for k, v in M.init_params(cfg, jax.random.key(0)).items()}
    p["W_U"] = p["W_U"][:, :10]
    with pytest.raises(ValueError, match="W_U"):
        W.save(tmp_path / "w.npz", p, cfg)


def test_shipped_weights_if_present():
    path = W.shipped_weights_path()
    if path is None:
        skip_unless_required("no shipped weights yet")
    params, cfg = W.load(path)
    assert cfg == M.Config()
    # The shipped model is the trained one: it must classify the test half well.
    _, test = D.datasets()
    acc = (M.predict(params, test.tokens) == test.labels).mean()
    assert acc >= 0.97, acc


# --------------------------------------------------------------------------- original checkpoints


def _torch_twin(torch, cfg):
    """The original challenge module's layout and forward, written in PyTorch (reference)."""
    nn = torch.nn

    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.W_E = nn.Parameter(torch.randn(cfg.d_model, cfg.d_vocab) / cfg.d_model**0.5)

    class PosEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            self.W_pos = nn.Parameter(torch.randn(cfg.n_ctx, cfg.d_model) / cfg.d_model**0.5)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            h, e, d = cfg.n_heads, cfg.d_head, cfg.d_model
            self.W_K = nn.Parameter(torch.randn(h, e, d) / d**0.5)
            self.W_Q = nn.Parameter(torch.randn(h, e, d) / d**0.5)
            self.W_V = nn.Parameter(torch.randn(h, e, d) / d**0.5)
            self.W_O = nn.Parameter(torch.randn(d, h * e) / d**0.5)
            self.register_buffer("mask", torch.tril(torch.ones((cfg.n_ctx, cfg.n_ctx))))

        def forward(self, x):
            n = x.shape[-2]
            k = torch.einsum("ihd,bpd->biph", self.W_K, x)
            q = torch.einsum("ihd,bpd->biph", self.W_Q, x)
            v = torch.einsum("ihd,bpd->biph", self.W_V, x)
            scores = torch.einsum("biph,biqh->biqp", k, q)
            scores = torch.tril(scores) - 1e10 * (1 - self.mask[:n, :n])
            a = torch.softmax(scores / cfg.d_head**0.5, dim=-1)
            z = torch.einsum("biph,biqp->biqh", v, a)
            z_flat = z.permute(0, 2, 1, 3).reshape(x.shape[0], n, -1)  # 'b i q h -> b q (i h)'
            return torch.einsum("df,bqf->bqd", self.W_O, z_flat)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.W_in = nn.Parameter(torch.randn(cfg.d_mlp, cfg.d_model) / cfg.d_model**0.5)
            self.b_in = nn.Parameter(0.1 * torch.randn(cfg.d_mlp))
            self.W_out = nn.Parameter(torch.randn(cfg.d_model, cfg.d_mlp) / cfg.d_model**0.5)
            self.b_out = nn.Parameter(0.1 * torch.randn(cfg.d_model))

        def forward(self, x):
            x = torch.relu(torch.einsum("md,bpd->bpm", self.W_in, x) + self.b_in)
            return torch.einsum("dm,bpm->bpd", self.W_out, x) + self.b_out

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = Attention()
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(x)
            return x + self.mlp(x)

    class Unembed(nn.Module):
        def __init__(self):
            super().__init__()
            self.W_U = nn.Parameter(torch.randn(cfg.d_model, cfg.d_vocab) / cfg.d_vocab**0.5)

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = Embed()
            self.pos_embed = PosEmbed()
            self.blocks = nn.ModuleList([Block()])
            self.unembed = Unembed()

        def forward(self, tokens):
            x = torch.einsum("dbp->bpd", self.embed.W_E[:, tokens]) + self.pos_embed.W_pos[: tokens.shape[1]]
            for b in self.blocks:
                x = b(x)
            return x @ self.unembed.W_U

    return Transformer()


def test_import_original_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg = M.Config()
    net = _torch_twin(torch, cfg)
    path = tmp_path / "transformer_model.pt"
    torch.save({"model": net.state_dict(), "epoch": 3, "losses": [0.5, 0.25]}, path)
    params = W.import_original(path)
    toks = D.tokens(D.all_pairs()[::37])
    with torch.no_grad():
        ref = net(torch.as_tensor(toks, dtype=torch.long)).numpy()
    logits, _ = M.forward(params, toks)
    np.testing.assert_allclose(np.asarray(logits), ref, rtol=1e-5, atol=1e-5)
    # bare state dicts and a round trip through our format work too
    torch.save(net.state_dict(), tmp_path / "bare.pt")
    bare = W.import_original(tmp_path / "bare.pt")
    for k in M.PARAM_NAMES:
        np.testing.assert_array_equal(bare[k], params[k])
    q, _ = W.load(W.save(tmp_path / "ours.npz", params))
    np.testing.assert_array_equal(q["W_O"], params["W_O"])
    # the CLI shell: import, then evaluate the converted file
    from tms import cli

    assert cli.main(["challenge", "import", str(path), str(tmp_path / "cli.npz")]) == 0
    r, cfg2 = W.load(tmp_path / "cli.npz")
    assert cfg2 == cfg
    np.testing.assert_array_equal(r["W_in"], params["W_in"])
    assert W.load_meta(tmp_path / "cli.npz") == {"imported_from": path.name}


def test_import_original_bad_checkpoints(tmp_path):
    torch = pytest.importorskip("torch")
    cfg = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=24)
    sd = _torch_twin(torch, cfg).state_dict()
    missing = {k: v for k, v in sd.items() if k != "blocks.0.mlp.b_in"}
    torch.save({"model": missing}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"missing keys \['blocks.0.mlp.b_in'\]"):
        W.import_original(tmp_path / "m.pt", cfg)
    wrong = dict(sd)
    wrong["blocks.0.attn.W_O"] = torch.zeros(16, 15)
    torch.save({"model": wrong}, tmp_path / "w.pt")
    with pytest.raises(ValueError, match=r"blocks.0.attn.W_O: expected \(16, 16\), got \(16, 15\)"):
        W.import_original(tmp_path / "w.pt", cfg)
    extra = dict(sd)
    extra["blocks.0.ln1.w"] = torch.ones(16)
    torch.save({"model": extra}, tmp_path / "e.pt")
    with pytest.raises(ValueError, match="unexpected keys.*ln1"):
        W.import_original(tmp_path / "e.pt", cfg)
    # a transposed-strided tensor (non-contiguous storage view) is read correctly
    strided = dict(sd)
    strided["unembed.W_U"] = torch.randn(cfg.d_vocab, cfg.d_model).t()
    torch.save({"model": strided}, tmp_path / "s.pt")
    np.testing.assert_array_equal(W.import_original(tmp_path / "s.pt", cfg)["W_U"], strided["unembed.W_U"].numpy())
    # a global the importer does not know (torch.nn.Linear) is refused
    torch.save({"model": sd, "layer": torch.nn.Linear(2, 2)}, tmp_path / "mod.pt")
    with pytest.raises(W.RefusedGlobal, match="refused to load global 'torch.nn.modules.linear.Linear'"):
        W.import_original(tmp_path / "mod.pt", cfg)


# --------------------------------------------------------------------------- foreign pickles


class _Payload:
    """Pickles as a call ``fn(*args)``: what a malicious checkpoint would run on load."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _payloads(marker):
    """Payloads that each create the file ``marker`` when unpickled by an ordinary unpickler."""
    return {
        "posix.system": _Payload(os.system, f"touch '{marker}'"),
        "builtins.open": _Payload(builtins.open, str(marker), "w"),
        "builtins.exec": _Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
    }


def _checkpoint(path, payload):
    """A zip archive laid out like torch.save's, whose data.pkl holds ``{"model": payload}``."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"model": payload}, protocol=2))
        zf.writestr("archive/version", "3\n")
    return path


@pytest.mark.parametrize("kind, refused", [
    ("posix.system", r"(posix|os)\.system"),  # the module os.system lives in, by platform
    ("builtins.open", r"io\.open"),  # builtins.open is io.open
    ("builtins.exec", r"__builtin__\.exec"),  # protocol 2 writes Python 2's name for builtins
])
def test_malicious_pickle_refused(tmp_path, kind, refused):
    # Control: the payload is real. An ordinary unpickler runs it and the marker file appears.
    control = tmp_path / "control-ran"
    with zipfile.ZipFile(_checkpoint(tmp_path / "control.pt", _payloads(control)[kind])) as zf:
        pickle.loads(zf.read("archive/data.pkl"))
    assert control.exists(), "the payload must create its file when unpickled without restriction"
    # The importer refuses the same payload, naming the global, and nothing runs.
    marker = tmp_path / "import-ran"
    path = _checkpoint(tmp_path / "evil.pt", _payloads(marker)[kind])
    with pytest.raises(W.RefusedGlobal, match=f"refused to load global '{refused}'"):
        W.import_original(path)
    assert not marker.exists()
    with pytest.raises(W.RefusedGlobal):
        W.load_any(path)
    assert not marker.exists()


def test_not_a_zip_checkpoint_refused(tmp_path):
    (tmp_path / "plain.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a PyTorch zip checkpoint"):
        W.import_original(tmp_path / "plain.pt")


# --------------------------------------------------------------------------- without torch

# Run first in a fresh interpreter: every import of torch or transformer_lens (or their submodules) fails,
# as where they are not installed, and each attempt is recorded.
_NO_TORCH = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    attempts = []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformer_lens"):
            self.attempts.append(name)
            raise ImportError(f"{name} is blocked in this test")
        return None

BLOCK = _Block()
sys.meta_path.insert(0, BLOCK)
"""


def _run_without_torch(code: str, tmp_path) -> dict:
    """Run ``code`` with torch blocked; it leaves a dict in ``result``; return it (with the import attempts)."""
    script = _NO_TORCH + textwrap.dedent(code) + textwrap.dedent("""
        import json
        result["torch_import_attempts"] = BLOCK.attempts
        result["torch_in_sys_modules"] = "torch" in sys.modules
        print("RESULT " + json.dumps(result))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_imports_need_no_torch(tmp_path):
    res = _run_without_torch("""
        try:
            import torch  # noqa: F401
            blocked = False
        except ImportError:
            blocked = True
        import tms.challenge
        import tms.challenge.data
        import tms.challenge.interop
        import tms.challenge.model
        import tms.challenge.weights
        from tms.challenge import weights as W

        params, cfg = W.load(W.shipped_weights_path())
        result = {"blocked": blocked, "d_model": cfg.d_model}
    """, tmp_path)
    assert res["blocked"] is True  # the block works: torch really is unavailable in the child
    assert res["d_model"] == 128
    assert res["torch_import_attempts"] == ["torch"]  # only the probe above; no module of ours tried
    assert res["torch_in_sys_modules"] is False


def test_import_original_needs_no_torch(tmp_path):
    """The importer's claim: an original checkpoint written by torch.save is read where torch is absent."""
    torch = pytest.importorskip("torch")  # to write the checkpoint; the import below runs without it
    cfg = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=24)
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(*s, generator=gen) for k, s in W.original_shapes(cfg).items()}
    state["blocks.0.attn.mask"] = torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx))
    torch.save({"model": state, "epoch": 7}, tmp_path / "transformer_model.pt")
    expected = W.from_original({k: v.numpy() for k, v in state.items()}, cfg)
    np.savez(tmp_path / "expected.npz", **expected)
    res = _run_without_torch("""
        import json
        import numpy as np
        from tms.challenge import model as M
        from tms.challenge import weights as W

        cfg = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=24)
        got = W.import_original("transformer_model.pt", cfg)
        with np.load("expected.npz") as f:
            equal = {k: bool(np.array_equal(got[k], f[k]) and got[k].dtype == f[k].dtype) for k in M.PARAM_NAMES}
        result = {"equal": equal}
    """, tmp_path)
    assert res["equal"] == {k: True for k in M.PARAM_NAMES}
    assert res["torch_import_attempts"] == [] and res["torch_in_sys_modules"] is False

