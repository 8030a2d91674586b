"""DESIGN §12: ``chatbotmaker test`` runs ``*.chat.yaml`` transcripts on a throwaway database."""

from __future__ import annotations

import pytest

from chatbotmaker_core.transcripts import TranscriptError, load_transcript
from tests.support.cli import run, run_main
from tests.support.transcripts import BUYS, WRONG, make_shop, write


def test_a_passing_transcript_passes_and_leaves_the_real_database_alone(tmp_path, capsys):
    config = make_shop(tmp_path)
    path = write(tmp_path, "buys.chat.yaml", BUYS)
    code, out, err = run_main(capsys, "test", str(config))
    assert (code, err) == (0, "")
    assert out == f"PASS buys a large one ({path}, 5 steps)\n1 passed, 0 failed\n"
    assert not (tmp_path / "real.db").exists()


def test_a_failing_step_prints_where_and_a_diff_and_every_transcript_runs(tmp_path, capsys):
    config = make_shop(tmp_path)
    buys = write(tmp_path, "a_buys.chat.yaml", BUYS)
    wrong = write(tmp_path, "b_wrong.chat.yaml", WRONG)
    code, out, _ = run_main(capsys, "test", str(config))
    assert code == 1
    assert out == (
        f"PASS buys a large one ({buys}, 5 steps)\n"
        f"FAIL wrong size prompt ({wrong})\n"
        f"{wrong}:4: 'wrong size prompt' failed at step 2 (say 'BUY')\n"
        f"  replies (- expected, + got):\n"
        f'    - "Which colour?"\n'
        f'    + "Which size?"\n'
        f"  state: expected 'colour', got 'size'\n"
        f"1 passed, 1 failed\n"
    )


def test_the_diff_shows_what_the_expectation_checks_and_the_replies_that_matched(tmp_path, capsys):
    make_shop(tmp_path)
    path = write(
        tmp_path,
        "qr.chat.yaml",
        """
        name: quick replies
        steps:
          - say: hi
            expect:
              - Hello!
              - text: What now?
                quick_replies: [Buy, Help, Quit]
          - say: Help
            expect:
              - text: Help is here.
                buttons: [{title: Call us, payload: HELP}, Site]
        """,
    )
    code, out, _ = run_main(capsys, "test", str(path))
    assert code == 1
    assert out.splitlines()[1:6] == [
        f"{path}:3: 'quick replies' failed at step 1 (say 'hi')",
        "  replies (- expected, + got):",
        '      "Hello!"',
        '    - "What now?" [quick replies: Buy | Help | Quit]',
        '    + "What now?" [quick replies: Buy | Help]',
    ]


def test_option_payloads_and_args_are_checked(tmp_path, capsys):
    make_shop(tmp_path)
    path = write(
        tmp_path,
        "p.chat.yaml",
        """
        name: payloads
        steps:
          - say: hi
          - say: Help
            expect:
              - text: Help is here.
                buttons: [{title: Call us, payload: HELP}, {title: Site, url: "https://example.com"}]
          - say: BUY
          - say: small
            args: {size: large, colour: red}
        """,
    )
    _, out, _ = run_main(capsys, "test", str(path))
    assert out.splitlines()[3:5] == [
        '    - "Help is here." [buttons: Call us -> HELP | Site <https://example.com>]',
        '    + "Help is here." [buttons: Call us -> CALL | Site <https://example.com>]',
    ]
    path.write_text(path.read_text().replace("payload: HELP", "payload: CALL"))
    _, out, _ = run_main(capsys, "test", str(path))
    assert out.splitlines()[1:4] == [
        f"{path}:9: 'payloads' failed at step 4 (say 'small')",
        "  args: size: expected 'large', got 'small'",
        "  args: colour: expected 'red', but it is not set",
    ]


def test_a_handler_error_fails_the_step_unless_expected(tmp_path, capsys):
    make_shop(tmp_path)
    path = write(tmp_path, "boom.chat.yaml", "name: boom\nsteps:\n  - say: hi\n  - say: boom\n")
    _, out, _ = run_main(capsys, "test", str(path))
    assert out.splitlines()[2] == (
        "  a handler raised RuntimeError: kaboom (the turn was rolled back; add 'error: true' "
        "to the step if that is expected)"
    )
    path.write_text(
        "name: boom\nsteps:\n  - say: hi\n  - say: boom\n    error: true\n"
        "    expect: ['Sorry, something went wrong on our side. Please try again.']\n"
    )
    assert run_main(capsys, "test", str(path))[0] == 0


def test_redelivery_is_checked_to_change_nothing(tmp_path, capsys):
    make_shop(tmp_path)
    path = write(
        tmp_path,
        "r.chat.yaml",
        """
        name: redelivery
        steps:
          - say: hi
          - say: BUY
          - say: large
            redeliver: true
            expect: []
        """,
    )
    with pytest.raises(TranscriptError) as error:
        load_transcript(path)
    assert str(error.value) == (
        f"{path}:5: step 3 redelivers the previous message ('BUY') but says 'large'; "
        f"drop 'say' or repeat the same text"
    )
    path.write_text(path.read_text().replace("say: large", "say: BUY") + "  - say: small\n")
    code, out, _ = run_main(capsys, "test", str(path))
    assert (code, out.splitlines()[-1]) == (0, "1 passed, 0 failed")


def test_mistakes_in_a_transcript_name_the_file_and_line(tmp_path, capsys):
    make_shop(tmp_path)
    typo = write(tmp_path, "typo.chat.yaml", "name: t\nsteps:\n  - say: hi\n    expcet: []\n")
    broken = write(tmp_path, "yaml.chat.yaml", "name: t\nsteps:\n  - say: [hi\n")
    code, out, _ = run_main(capsys, "test", str(tmp_path / "chatbotmaker.toml"))
    assert code == 1
    assert (
        f"{typo}:4: step 1: unknown key 'expcet' (did you mean 'expect'?); allowed: say, tap, "
        f"redeliver, expect, state, args, error"
    ) in out.splitlines()
    assert any(line.startswith(f"{broken}:4: not valid YAML") for line in out.splitlines())
    assert out.splitlines()[-1] == "0 passed, 2 failed"


def test_coverage_counts_states_and_transitions_against_the_graph(tmp_path, capsys):
    config = make_shop(tmp_path)
    write(tmp_path, "buys.chat.yaml", BUYS)
    code, out, _ = run_main(capsys, "test", str(config), "--coverage")
    assert code == 0
    assert out.splitlines()[1:] == [
        f"coverage of {config}: states 3/4 (75%), transitions 3/5 (60%)",
        "  untested states: refund",
        "  transitions not taken: menu -> refund, refund -> menu",
        "1 passed, 0 failed",
    ]
    write(tmp_path, "refund.chat.yaml", "name: r\nsteps: [hi, refund, back]\n")
    _, out, _ = run_main(capsys, "test", str(config), "--coverage")
    assert f"coverage of {config}: states 4/4 (100%), transitions 5/5 (100%)" in out


def test_config_key_and_nearest_config_are_found(tmp_path, capsys):
    make_shop(tmp_path / "bot")
    nested = tmp_path / "bot" / "conversations" / "deep"
    nested.mkdir(parents=True)
    write(nested, "nearest.chat.yaml", BUYS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere, "keyed.chat.yaml", "config: ../bot/chatbotmaker.toml\n" + BUYS)
    code, out, _ = run_main(capsys, "test", str(nested), str(elsewhere))
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed")
    orphan = write(tmp_path, "orphan.chat.yaml", BUYS)
    _, out, _ = run_main(capsys, "test", str(orphan))
    assert out.splitlines()[1] == (
        f"{orphan}: {orphan}: no chatbotmaker.toml in its folder or above; add 'config: "
        f"path/to/chatbotmaker.toml' to the transcript or pass the config to 'chatbotmaker test'"
    )


def test_no_transcripts_is_an_error(tmp_path, capsys):
    config = make_shop(tmp_path)
    assert run_main(capsys, "test", str(config)) == (
        1,
        "",
        f"error: no *.chat.yaml transcripts under {tmp_path}; write one (docs/testing.md)\n",
    )


def test_a_recorded_chat_passes_when_run(tmp_path):
    config = make_shop(tmp_path)
    record = tmp_path / "talk.chat.yaml"
    chat = run("chat", str(config), "--record", str(record), stdin="hi\n1\nlarge\n2\nrefund\nx\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stderr.decode().endswith(f"recorded 6 steps in {record}\n")
    text = record.read_text()
    assert "  - tap: Buy\n" in text  # the typed number became a tap of its option
    assert "quick_replies: [{title: Buy, payload: BUY}, Help]" in text
    assert "buttons: [{title: Call us, payload: CALL}, {title: Site, url:" in text
    replay = run("test", str(record))
    assert replay.returncode == 0, replay.stdout
    assert replay.stdout.decode().splitlines()[-1] == "1 passed, 0 failed"
    record.write_text(text.replace("Refunded.", "Refused."))
    assert run("test", str(record)).returncode == 1


def test_record_into_a_missing_folder_is_one_line(tmp_path):
    config = make_shop(tmp_path)
    chat = run("chat", str(config), "--record", str(tmp_path / "no" / "x.chat.yaml"), stdin="hi\n")
    assert chat.returncode == 1
    assert chat.stderr.decode() == (
        f"error: --record {tmp_path / 'no' / 'x.chat.yaml'}: folder "
        f"'{tmp_path / 'no'}' does not exist; create it or record elsewhere\n"
    )
