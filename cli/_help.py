"""Help formatting shared by the ``splitinfer`` commands."""

from __future__ import annotations

import argparse


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" to an option's help unless the help already says its default or X
    means nothing to show (no value, an empty list, an off switch, a required option)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or action.required or default is None or default is False or default == []:
            return text
        return super()._get_help_string(action) or text


class RawDefaultsHelp(argparse.RawDescriptionHelpFormatter, DefaultsHelp):
    """``DefaultsHelp`` that keeps the description's own line breaks (examples, lists)."""
