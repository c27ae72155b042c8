"""Run in a separate Python process that never imports domainssl (argv: EXPORT_DIR WORK_DIR).

Loads the export with timm's own local-dir loader, runs every non-domainssl usage block of its model
card, and saves what the tests compare to WORK_DIR/results.pt.
"""

import sys
from pathlib import Path

import timm
import torch
from safetensors.torch import load_file

torch.set_num_threads(1)
export_dir, work = sys.argv[1], Path(sys.argv[2])
x = torch.load(work / "x.pt", weights_only=True)  # N x 1 x H x W
weights = load_file(f"{export_dir}/model.safetensors")
results = {}

with torch.no_grad():
    model = timm.create_model(f"local-dir:{export_dir}", pretrained=True).eval()
    results["features"] = model(x)
    results["in_chans"] = model.conv1.in_channels
    results["pretrained_cfg"] = {k: model.pretrained_cfg[k] for k in ("input_size", "mean", "std")}
    results["same_weights"] = set(model.state_dict()) == set(weights) and all(
        torch.equal(model.state_dict()[k], v) for k, v in weights.items()
    )
    model3 = timm.create_model(f"local-dir:{export_dir}", pretrained=True, in_chans=3).eval()
    results["features_3ch"] = model3(x.repeat(1, 3, 1, 1))

    card = Path(export_dir, "README.md").read_text()
    blocks = [part.split("\n```", 1)[0] for part in card.split("```python\n")[1:]]
    results["blocks"] = []
    for code in blocks:
        if "domainssl" in code:
            continue
        ns = {}
        exec(compile(code, "README.md", "exec"), ns)
        out = {"code": code}
        if "model" in ns:
            out["features"] = ns["model"].eval()(x)
        if "unet" in ns:
            enc = ns["unet"].encoder.model.state_dict()
            out["unet_same_weights"] = set(enc) == set(weights) and all(torch.equal(enc[k], v) for k, v in weights.items())
        if "detections" in ns:
            out["detections"] = sorted(ns["detections"][0])
        results["blocks"].append(out)

results["domainssl_imported"] = any(name.split(".")[0] == "domainssl" for name in sys.modules)
torch.save(results, work / "results.pt")
