"""Play an environment yourself, in the terminal: ``text-envs play NER``.

Each step shows the env's ``ansi`` render (the text and what has been done so far; the
gold answer is hidden until the end unless ``show_gold=True``), the valid actions by name,
and reads an action. You may type:

* NER, Classify, ClassifyReading: a tag / label name (case does not matter; ``READ`` in
  ClassifyReading) or its action number;
* Summarize: a sentence number, or ``STOP``;
* QA: a token position, or text from the context: one word picks the token where that
  word starts (step 1) or ends (step 2, the first such token after the start); several
  words (``a youth league``) pick the whole answer span at once. Quote text that looks
  like a number (``"1944"``) to mean the word, not the position;
* SummarizeTokens: a token of the document (``mayor``, ``##stad``), a word (written as
  its tokens, several steps), ``EOS`` to finish, or ``#ID`` for a raw token id.

``hint`` shows what the expert (:meth:`~text_envs.envs.base.TextEnv.expert_action`) would
do now, ``help`` the rules above, and ``q`` (or end of input, or Ctrl-C) quits. An invalid action is
refused with the reason and the game goes on. After each step the reward is shown; at the
end the episode's ``info["metrics"]`` and prediction, the gold answer, and what the
expert does on the same example (its actions replayed from the start).

:func:`play` takes ``input`` and ``output`` functions, so a script or a test can drive it.
"""

from __future__ import annotations

import re
import string
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from .envs.base import InvalidActionError, TextEnv
from .registration import resolve_env_id

QUIT = {"q", "quit", "exit"}
_WIDTH = 100


class Refused(ValueError):
    """An input that is not a valid action now; the message says why."""


def _wrap(items: Sequence[str], prefix: str) -> str:
    return textwrap.fill(", ".join(items), width=_WIDTH, initial_indent=prefix,
                         subsequent_indent=" " * len(prefix), break_on_hyphens=False)


def _unquote(text: str) -> tuple[str, bool]:
    """The text without surrounding quotes, and whether it was quoted."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1], True
    return text, False


# -- action vocabularies: how a typed string becomes actions, per env --------------------------------

class Actions:
    """Named actions: ``names[i]`` is action ``i``'s name; input is a name or a number."""

    help = "type an action's name (or the start of it) or its number"

    def __init__(self, env: TextEnv, names: Sequence[str]) -> None:
        self.env = env
        self.names = list(names)
        self._by_name = {name.lower(): i for i, name in enumerate(self.names)}

    def name(self, action: int) -> str:
        return self.names[action]

    def describe(self, mask: np.ndarray) -> str:
        items = [name if name == str(i) else f"{i} {name}" for i, name in enumerate(self.names) if mask[i]]
        return _wrap(items, "valid actions: ")

    def parse(self, text: str, mask: np.ndarray) -> list[int]:
        text, _ = _unquote(text)
        if text.lower() in self._by_name:
            return [self._by_name[text.lower()]]
        if re.fullmatch(r"[+-]?\d+", text):
            return [int(text)]
        prefixed = [i for name, i in self._by_name.items() if text and name.startswith(text.lower())]
        if len(prefixed) == 1:
            return prefixed
        if len(prefixed) > 1:
            raise Refused(f"{text!r} could be {', '.join(self.names[i] for i in prefixed)}; type more of the name")
        raise Refused(f"{text!r} is not an action here; type one of the names or numbers listed")


class SummarizeActions(Actions):
    help = "type a sentence number to pick it, or STOP to end the summary"

    def __init__(self, env: TextEnv) -> None:
        super().__init__(env, env.task_spec.action_names)  # sentence numbers, then STOP

    def describe(self, mask: np.ndarray) -> str:
        items = [str(i) for i in np.flatnonzero(mask[:-1])] + (["STOP"] if mask[-1] else [])
        return _wrap(items, "valid actions (sentence numbers): ")


class QaActions:
    """Token positions; text is matched against the context's tokens and words."""

    help = ("type a token position, or text from the context: one word marks the token where it starts "
            "(step 1) or ends (step 2); several words mark the whole answer at once; quote a number to mean "
            "the word (\"1944\"), not the position")

    def __init__(self, env: TextEnv) -> None:
        self.env = env

    def _tokens(self) -> list[str]:
        env = self.env
        ids = np.asarray(env.encoded.input_ids[env.token_rows]).tolist()
        return env.encoder.tokenizer.convert_ids_to_tokens(ids)

    def name(self, action: int) -> str:
        env = self.env
        if 0 <= action < env.num_tokens:
            return f"{action}:{self._tokens()[action]}"
        return str(action)

    def describe(self, mask: np.ndarray) -> str:
        tokens = self._tokens()
        step = "start (step 1/2)" if self.env.chosen_start is None else "end (step 2/2)"
        return _wrap([f"{p}:{tokens[p]}" for p in np.flatnonzero(mask)], f"valid {step} positions: ")

    def _words(self) -> list[tuple[int, int, str]]:
        """The context's words without surrounding punctuation: (start char, end char, text)."""
        words = []
        for match in re.finditer(r"\S+", self.env.record.context):
            word = match.group().strip(string.punctuation)
            if word:
                start = match.start() + match.group().index(word)
                words.append((start, start + len(word), word))
        return words

    def parse(self, text: str, mask: np.ndarray) -> list[int]:
        env = self.env
        text, quoted = _unquote(text)
        if not quoted and re.fullmatch(r"[+-]?\d+", text) and (int(text) < len(mask) or text not in env.record.context):
            return [int(text)]  # a position (a larger number that occurs in the context is that word)
        target = text.strip().lower()
        if not target:
            raise Refused("type a position or some text of the context")
        offsets = env.token_offsets
        context = env.context_positions
        if " " in target:
            return self._span(target, offsets, context)
        starting = env.chosen_start is None
        tokens = [t.removeprefix("##").lower() for t in self._tokens()]
        word_edges = {(start if starting else end) for start, end, word in self._words() if word.lower() == target}
        edge = 0 if starting else 1
        matches = [p for p in context
                   if tokens[p] == target or (tokens[p] and int(offsets[p, edge]) in word_edges)]
        if not matches:
            raise Refused(f"{text!r} is not a token or word of the context")
        valid = [p for p in matches if mask[p]]
        if not valid:
            return [matches[0]]  # invalid: the env says why
        if starting and len(valid) > 1:
            raise Refused(f"{text!r} occurs at positions {', '.join(map(str, valid))}; type the position")
        return [valid[0]]

    def _span(self, target: str, offsets: np.ndarray, context: range) -> list[int]:
        """Start and end positions of a phrase of the context (step 1 only)."""
        env = self.env
        if env.chosen_start is not None:
            raise Refused("the start is chosen: type one word or a position for the end")
        lowered = env.record.context.lower()
        spans = []
        for match in re.finditer(re.escape(target), lowered):
            inside = [p for p in context if offsets[p, 1] > match.start() and offsets[p, 0] < match.end()]
            if inside:
                spans.append((inside[0], inside[-1]))
        if not spans:
            raise Refused(f"{target!r} does not occur in the part of the context the encoder kept")
        if len(spans) > 1:
            raise Refused(f"{target!r} occurs {len(spans)} times (positions {', '.join(str(s) for s, _ in spans)}); "
                          "type the start position, then the end")
        start, end = spans[0]
        if end - start + 1 > env.task_spec.max_answer_tokens:
            raise Refused(f"the span {start}..{end} has {end - start + 1} tokens, more than "
                          f"max_answer_tokens={env.task_spec.max_answer_tokens}")
        return [start, end]


class TokenActions:
    """SummarizeTokens: tokens of the copy vocabulary, words (as their tokens), EOS, #ID."""

    help = ("type a token of the document (as listed), a word (written as its tokens), EOS to finish, "
            "or #ID for a raw token id")

    def __init__(self, env: TextEnv) -> None:
        self.env = env
        self.tokenizer = env.encoder.tokenizer

    def name(self, action: int) -> str:
        if action == self.env.task_spec.eos_id:
            return "EOS"
        return self.tokenizer.convert_ids_to_tokens(int(action))

    def _copy_ids(self) -> list[int]:
        """The copy vocabulary in the order of first occurrence in the document."""
        return list(dict.fromkeys(int(i) for i in self.env.source_ids))

    def describe(self, mask: np.ndarray) -> str:
        items = [self.name(i) for i in self._copy_ids() if mask[i]] + (["EOS"] if mask[self.env.task_spec.eos_id] else [])
        return _wrap(items, "valid tokens: ")

    def parse(self, text: str, mask: np.ndarray) -> list[int]:
        text, _ = _unquote(text)
        if text.upper() in ("EOS", "<EOS>", self.tokenizer.sep_token):
            return [self.env.task_spec.eos_id]
        if re.fullmatch(r"#\d+", text):
            return [int(text[1:])]
        copy = {self.name(i): i for i in self._copy_ids()}
        for candidate in (text, text.lower()):
            if candidate in copy:
                return [copy[candidate]]
        pieces = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if not pieces:
            raise Refused(f"{text!r} has no tokens")
        missing = [i for i in pieces if not mask[i]]
        if missing:
            return missing[:1]  # invalid: the env says why
        return list(pieces)


#: how typed input becomes actions, for each ``actions_kind`` a task's spec may declare
VOCABULARIES = {"sentences": SummarizeActions, "span": QaActions, "tokens": TokenActions}


def action_vocabulary(env: TextEnv) -> Actions | QaActions | TokenActions:
    """How typed input maps to actions in ``env`` (the unwrapped env): its spec's ``actions_kind``
    picks the reader; ``"names"`` reads the spec's ``action_names`` (numbers where it has none)."""
    spec = env.task_spec
    if spec.actions_kind in VOCABULARIES:
        return VOCABULARIES[spec.actions_kind](env)
    return Actions(env, [spec.action_name(action) for action in range(env.action_space.n)])


# -- the game ----------------------------------------------------------------------------------------

def _format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in metrics.items())


def _format_prediction(prediction: Any) -> str:
    if isinstance(prediction, (list, tuple)):
        return " ".join(map(str, prediction)) if all(" " not in str(p) for p in prediction) else " | ".join(prediction)
    return repr(prediction) if isinstance(prediction, str) else str(prediction)


def check_action(env: TextEnv, vocabulary, action: int, mask: np.ndarray) -> None:
    """Raise :class:`Refused` with the env's reason when ``action`` is not valid now."""
    if not 0 <= action < len(mask):
        raise Refused(f"action {action} is outside the action space [0, {len(mask)})")
    if not mask[action]:
        raise Refused(f"{vocabulary.name(action)} is not allowed here: {env.why_invalid(action)}")


def expert_episode(env: gym.Env, index: int) -> dict[str, Any]:
    """Replay ``env.expert_action()`` from the start of example ``index``."""
    base = env.unwrapped
    env.reset(options={"index": index})
    actions, total, done, info = [], 0.0, False, {}
    while not done:
        action = base.expert_action()
        _, reward, terminated, truncated, info = env.step(action)
        actions.append(action)
        total += reward
        done = terminated or truncated
    return {"actions": actions, "return": total, "metrics": info["metrics"], "prediction": info["prediction"]}


def play(env_id: str, *, input: Callable[[str], str] = input, output: Callable[[str], Any] = print,
         seed: int | None = None, episodes: int = 1, index: int | None = None, show_gold: bool = False,
         **make_kwargs) -> list[dict[str, Any]]:
    """Play ``episodes`` episodes of ``env_id`` with actions read from ``input``.

    Args:
        env_id: ``"NER"``, ``"NER-v0"`` or ``"text_envs/NER-v0"``.
        input, output: read a line (given the prompt; ``EOFError`` quits) and show text.
        seed: seeds the example sampler (the same seed replays the same examples).
        episodes: how many episodes to play.
        index: play example ``index`` (then ``index + 1``, ...) instead of sampled ones.
        show_gold: show the gold answer while playing, not only at the end.
        make_kwargs: ``gym.make`` arguments (``dataset``, ``split``, ``encoder``, ...).

    Returns:
        one dict per finished episode: ``index``, ``actions``, ``return``, ``metrics``,
        ``prediction`` and ``expert`` (the expert's ``actions``, ``return``, ``metrics``,
        ``prediction`` on the same example).
    """
    env_id = resolve_env_id(env_id)
    env = gym.make(env_id, render_mode="ansi", invalid_action="error", **make_kwargs)
    base = env.unwrapped
    vocabulary = action_vocabulary(base)
    results: list[dict[str, Any]] = []
    try:
        for episode in range(episodes):
            options = None if index is None else {"index": (index + episode) % base.num_examples}
            _, info = env.reset(seed=seed if episode == 0 else None, options=options)
            output(f"== {env_id}, episode {episode + 1}/{episodes} ({base.data.name} {base.data.split}, "
                   f"example {base.index}); type 'help' for how to play, 'q' to quit ==")
            result = _play_episode(env, vocabulary, info, input, output, show_gold)
            if result is None:
                output("bye")
                break
            results.append(result)
    finally:
        env.close()
    return results


def _play_episode(env: gym.Env, vocabulary, info: dict, input, output, show_gold: bool) -> dict[str, Any] | None:
    base = env.unwrapped
    index, actions, total, show = base.index, [], 0.0, True
    while True:
        mask = info["action_mask"]
        if show:
            output(base.render_text(gold=show_gold))
            output(vocabulary.describe(mask))
        show = True
        try:
            line = input("action> ")
        except (EOFError, KeyboardInterrupt):
            return None
        text = line.strip()
        if text.lower() in QUIT:
            return None
        if text.lower() in ("help", "?"):
            output(vocabulary.help + "; 'hint': the expert's action; 'q': quit")
            show = False
            continue
        if text.lower() == "hint":
            output(f"the expert would play {vocabulary.name(base.expert_action())}")
            show = False
            continue
        try:
            if not text:
                raise Refused("empty input; type an action ('help' explains how)")
            chosen = vocabulary.parse(text, mask)
            check_action(base, vocabulary, chosen[0], mask)
        except Refused as refusal:
            output(f"invalid: {refusal}; try again")
            show = False
            continue
        played, gained, error = [], 0.0, None
        for action in chosen:
            try:
                check_action(base, vocabulary, action, info["action_mask"])
                _, reward, terminated, truncated, info = env.step(action)
            except (Refused, InvalidActionError) as refusal:
                error = refusal
                break
            played.append(vocabulary.name(action))
            actions.append(action)
            gained += reward
            total += reward
            if terminated or truncated:
                break
        if played:
            what = played[0] if len(played) == 1 else f"{' '.join(played)} ({len(played)} steps)"
            output(f"you played {what}: reward {gained:+.3g} (return so far {total:.3g})")
        if error is not None:
            output(f"invalid: {error}; try again")
        if played and (terminated or truncated):
            return _finish(env, vocabulary, index, actions, total, info, output)


def _finish(env: gym.Env, vocabulary, index: int, actions: list[int], total: float, info: dict,
            output) -> dict[str, Any]:
    output("-- episode over --")
    output(env.render())
    output(f"return: {total:.4g}")
    output(f"metrics: {_format_metrics(info['metrics'])}")
    output(f"prediction: {_format_prediction(info['prediction'])}")
    expert = expert_episode(env, index)
    names = [vocabulary.name(a) for a in expert["actions"]]
    shown = " ".join(names) if len(names) <= 60 else " ".join(names[:60]) + f" ... ({len(names)} actions)"
    output(f"expert actions: {shown}")
    output(f"expert return: {expert['return']:.4g}; metrics: {_format_metrics(expert['metrics'])}")
    output(f"expert prediction: {_format_prediction(expert['prediction'])}")
    return {"index": index, "actions": actions, "return": total, "metrics": dict(info["metrics"]),
            "prediction": info["prediction"], "expert": expert}
