"""SAEs exported in SAELens's format: read back equal, and SAELens itself encodes them as we do."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine.sae import SaeConfig, SaeError, get_arch, init_sae, sae_hparams
from tms.runs.saelens import export_saelens, import_saelens

pytest.importorskip("safetensors")
ARCHS = ["relu", "topk", "batchtopk", "jumprelu", "gated"]
D_IN, D_SAE, K = 5, 12, 3


def _sae(arch, seed=0):
    cfg = SaeConfig(arch, D_IN, D_SAE)
    rng = np.random.default_rng(seed)
    p = {k: (rng.normal(size=v.shape) * 0.5).astype(np.float32) for k, v in init_sae(jax.random.PRNGKey(0), cfg).items()}
    if arch == "jumprelu":
        p["log_threshold"] = np.log(rng.uniform(0.05, 0.5, D_SAE)).astype(np.float32)
    if arch == "batchtopk":
        p["threshold"] = np.float32(0.2)
    return cfg, p


def _ours(cfg, p, H):
    hp = jax.tree.map(lambda a: a[0], sae_hparams(cfg, penalty=0.1, k=K))
    enc = jax.vmap(get_arch(cfg.arch).encode, (None, 0, None, None))
    return np.asarray(enc({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(H), hp, cfg))


@pytest.mark.parametrize("arch", ARCHS)
def test_round_trip(tmp_path, arch):
    cfg, p = _sae(arch)
    export_saelens(tmp_path / arch, p, cfg, k=K, penalty=0.1)
    q, cfg2, hp = import_saelens(tmp_path / arch)
    assert cfg2 == cfg and hp == {"k": K, "penalty": 0.1}
    assert sorted(q) == sorted(p)
    for name in p:
        np.testing.assert_allclose(q[name], p[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_refuses_to_overwrite(tmp_path):
    cfg, p = _sae("relu")
    export_saelens(tmp_path / "a", p, cfg)
    with pytest.raises(SaeError, match="overwrite=True"):
        export_saelens(tmp_path / "a", p, cfg)
    export_saelens(tmp_path / "a", p, cfg, overwrite=True)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "cfg.json").write_text("{}")
    with pytest.raises(SaeError, match="not written by tms"):
        export_saelens(tmp_path / "b", p, cfg, overwrite=True)
    with pytest.raises(SaeError, match="one SAE"):
        export_saelens(tmp_path / "c", {k: v[None] for k, v in p.items()}, cfg)


@pytest.mark.parametrize("arch", ARCHS)
def test_saelens_encodes_as_we_do(tmp_path, arch):
    pytest.importorskip("sae_lens")
    torch = pytest.importorskip("torch")
    from sae_lens import SAE

    cfg, p = _sae(arch, seed=1)
    export_saelens(tmp_path / arch, p, cfg, k=K)
    sae = SAE.load_from_disk(str(tmp_path / arch))
    H = np.random.default_rng(2).normal(size=(64, D_IN)).astype(np.float32)
    with torch.no_grad():
        theirs = sae.encode(torch.from_numpy(H)).numpy()
        recon = sae.decode(torch.from_numpy(theirs)).numpy()
    ours = _ours(cfg, p, H)
    assert np.count_nonzero(ours) > 0
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(recon, ours @ p["W_dec"] + p["b_dec"], rtol=1e-5, atol=1e-6)
