"""``chatbotmaker profile push|show [CONFIG]``: the Messenger Profile as configuration.

``push`` sends the config's ``[messenger.profile]`` to Meta (only the fields it holds: the
others Meta keeps as they are); ``show`` prints, as JSON, what Meta holds now. Both use the
``[messenger]`` table's token and app secret, as the bot does.
"""

from __future__ import annotations

import argparse
import json
import sys

from chatbotmaker_core import ChatbotmakerError

PROFILE_HELP = (
    "the Messenger Profile (Get Started, greeting, ice breakers, menu): push the config's "
    "[messenger.profile] to Meta, or show what Meta holds"
)
DEFAULT_CONFIG = "chatbotmaker.toml"


def configure_profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("push", "show"),
        help="push: send [messenger.profile]; show: print Meta's profile as JSON",
    )
    parser.add_argument(
        "config",
        nargs="?",
        default=DEFAULT_CONFIG,
        help=f"the bot's config file (default: {DEFAULT_CONFIG})",
    )


def run_profile(args: argparse.Namespace) -> int:
    from chatbotmaker_core.config import build_component, component_options, load_config

    config = load_config(args.config)
    name = component_options(config, "messenger")[0]
    messenger = build_component(config, "messenger")
    if not hasattr(messenger, "push_profile"):
        raise ChatbotmakerError(
            f"[messenger] {name!r} has no Messenger Profile; the profile command works with "
            f"the facebook and instagram messengers"
        )
    if args.action == "show":
        answer = messenger.fetch_profile()
        data = answer.get("data", answer)
        if isinstance(data, list):  # Graph answers {"data": [{...the profile...}]}
            data = data[0] if len(data) == 1 else ({} if not data else data)
        print(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True))
        return 0
    if not messenger.profile:
        raise ChatbotmakerError(
            f"{args.config}: [messenger.profile] is missing or empty; add Meta's fields, e.g. "
            f'get_started = {{payload = "GET_STARTED"}} under [messenger.profile]'
        )
    messenger.push_profile()
    fields = ", ".join(sorted(messenger.profile))
    print(f"{args.config}: Messenger Profile pushed ({fields})")
    sys.stdout.flush()
    return 0
