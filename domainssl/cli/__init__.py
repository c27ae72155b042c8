"""The ``domainssl`` command line: each command parses and validates its flags, then calls the public API.

One module per family of commands (:mod:`.pretrain`, :mod:`.finetune`, :mod:`.evaluate`), one error
decorator for all of them (:func:`.common.user_errors`).
"""

from __future__ import annotations

import click

from domainssl.cli import evaluate, finetune, pretrain


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="domainssl")
def main() -> None:
    """Self-supervised pretraining for ToF depth, CT/MRI and other special imagery.

    \b
    Quick start:
      domainssl pretrain --modality tof          # synthetic ToF world, BYOL, kNN before/after
      domainssl preview --modality tof --out views.png
      domainssl info
    """


for command in (pretrain.pretrain, pretrain.preview, pretrain.export_cmd, pretrain.synth, finetune.finetune_command,
                evaluate.eval_command, pretrain.info):
    main.add_command(command)
