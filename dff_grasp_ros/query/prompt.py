"""Prompt understanding: split "blue mug handle" into an object phrase ("blue mug") and a part phrase ("handle").

Accepted forms (case-insensitive, surrounding whitespace ignored):

* ``"mug handle"``, ``"blue mug handle"``, ``"mug handle red"`` – a trailing known part word (before any attribute
  words, which stay with the object) is the part;
* ``"handle blue mug"``, ``"blue handle mug"`` – so is a leading one (after any attribute words) before a name;
* ``"the handle of the mug"`` – "<part> of <object>";
* ``"mug's handle"`` – possessive;
* ``"mug;handle"`` – LERF-TOGO's explicit syntax; the text after ``;`` is the part even if it is not a known word
  (one ``;`` only; nothing after it asks for the whole object, only filler words after it is refused);
* an attribute word in the part phrase of these two forms is the object's: "the blue handle of the mug" and
  "mug;blue handle" are "blue mug" + "handle";
* ``"the handle on the mug"`` – "<known part word> on <object>", read as "of";
* ``"the mug by its handle"``, ``"the mug at the handle"``, ``"the mug with the handle"`` – "<object> by/at/with
  <known part word>";
* ``"red mug"``, ``"knife"``, ``"handle"`` – object only (a lone part word is searched as an object).

Leading requests and determiners ("could you pick up the ...", "I want a ...", "get me the ...", "pick the ...
up") and trailing politeness ("..., please", "... now", "... pls") are dropped; capitals, extra spaces, curly
apostrophes, full-width letters and punctuation around the words and underscores ("green_mug") do not change the
answer. A plural part word is the part ("handles of the mug").

**What a prompt must not ask.** The query finds one object by what it looks like; it cannot resolve grammar that a
text encoder flattens into a bag of words (CLIP, like the synthetic teacher, embeds "not the red mug" close to
"red mug"). A prompt that says what *not* to grasp ("not the red mug", "anything but the mug", "avoid the mug",
"non-red mug", "the mug that isn't red", a search box's "mug -red"), asks for several things ("mug and bowl", "red
or blue mug", "mug, bowl", "mug vs bowl"), a number of them ("two mugs", "both mugs") or picks an object by place,
relation, order or comparison ("left mug", "mug next to the bowl", "the mug with the knife", "the next mug", "the
biggest box") is refused with a :class:`PromptError` that names the word, never answered on the object its nouns
name; so is a prompt with a symbol ("🔴 mug", "❌ red mug", "¬red"), whose meaning would be dropped with the
punctuation. A relation is refused even when the scene holds one object of the name: the query cannot check that
the relation holds, and a prompt is answered the same in every scene. These are words of the prompt's grammar,
the same whatever the teacher and the scene, not a list of what a scene may hold. Plurals are not refused ("mugs"
is answered with one mug): many singular objects end in "s" ("glass", "pliers").

Colours and other attributes stay with the object phrase, because they select *which* object to grasp.
:func:`name_object` splits the listed attribute words (colours by default) off the object's name, so that the
query can find every instance of the name and compare the asked attribute with its alternatives on each.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_PROMPT_CHARS = 200

DEFAULT_PART_WORDS: tuple[str, ...] = (
    "handle", "blade", "cap", "lid", "body", "head", "shaft", "rim", "spout", "tip", "neck", "grip", "base",
    "bottom", "top", "edge", "knob", "stem", "bristles",
)

# Attribute words the query compares with each other on every instance of the asked object ("green mug" against
# "red mug", "blue mug", ...). A query parameter, not a statement about any scene: the alternatives an asked
# colour must beat. Both spellings of grey: a prompt may use either, and one that is not listed is not checked.
DEFAULT_ATTRIBUTE_WORDS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey", "gray",
    "silver", "gold",
)

# Leading determiners, requests and polite/verb fillers carry no meaning for the field and only dilute the text
# embedding; so does trailing politeness.
_LEADING_FILLERS = ("hey", "please", "kindly", "could you", "can you", "would you", "will you", "can i have",
                    "could i have", "may i have", "can i get", "could i get", "get me", "go get", "go grab",
                    "go fetch", "i want", "i need",
                    "i'd like", "i would like", "bring me", "give me", "hand me", "pick up", "pick", "lift up", "lift",
                    "hold", "fetch", "grasp", "grab", "take", "get", "the", "a", "an", "any", "pair of")
_TRAILING_FILLERS = ("please", "pls", "plz", "thanks", "thx", "thank you", "for me", "now")
# "pick the red mug up": the particle of "pick up" after the object, moved back before it. Only at the end or
# before punctuation, politeness or the words that name a part: "pick the make up brush" keeps its name.
_SEPARATED_UP = re.compile(r"\b(pick|lift) (?!up\b)(.+?) up(?=$|[^\w\s]| (?:by|at|with|please|now|thanks|thank|"
                           r"for|pls|plz)\b)")
_PART_OF_OBJECT = re.compile(r"^(?P<part>.+?)\s+of\s+(?:the\s+|a\s+|an\s+)?(?P<object>.+)$")
# Apostrophes a keyboard or a phone may send instead of "'" ("mug’s handle"), and the underscore of names written
# as identifiers ("green_mug"): one word to a split on spaces, it hid the colour from the comparison with the others.
_SAME_CHARACTERS = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'",
                                  "\u00b4": "'", "_": " "})

# Words of the prompt grammar the query cannot resolve (see the module docstring), by what they ask. Words that
# also start common object names are left out ("first aid kit", "center punch", "pair of pliers"): a leading word
# like them is compared with the attribute words in its place and refused unless the scene confirms it.
_NEGATION = ("not", "no", "never", "without", "except", "excluding", "but", "don't", "dont", "nothing", "none",
             "neither", "nor", "instead", "besides", "other than", "rather than", "apart from", "aside from", "exclude",
             "excepting", "nope", "nah", "else than", "avoid", "avoiding", "leave", "ignore", "ignoring", "skip",
             "skipping", "unlike", "minus", "sans", "isnt", "arent", "doesnt", "didnt", "wasnt", "werent",
             "cannot", "cant", "shouldnt", "mustnt", "unless")
# "isn't", "doesn't", "won't": any word ending in "n't" says not, as does "non" before an attribute word
# ("non-red", "nonred"; not "non-stick pan"); "-red" and "!red" are a search box's "not red".
_NEGATED_WORD = re.compile(r"n't$")
_EXCLUDED_WORD = re.compile(r"(?:^|\s)([-!]+\w+)")
# Unicode categories of symbols: emoji ("🔴 mug", "❌ red mug"), math ("¬", "≠", "~"), modifiers. Dropped as
# punctuation, their meaning was lost ("🔴 mug" grasped a blue mug); "+" is read as "and" (_SEVERAL).
_SYMBOL_CATEGORIES = ("So", "Sm", "Sk")
_SEVERAL = ("and", "or", "&", "+", "/", "plus", "either", "as well as", "along with", "together with", "then",
            "also", "vs", "versus", "n")
_COUNT = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "dozen",
          "couple", "both", "all", "every", "each", "several", "few", "many", "multiple", "hundred")
_PLACE = ("left", "right", "leftmost", "rightmost", "next to", "near", "nearest", "nearer", "close to", "closest",
          "closer", "far", "farthest", "furthest", "farther", "further", "beside", "behind", "front", "between",
          "among", "above", "below", "under", "underneath", "beneath", "over", "on", "in", "inside", "into", "onto",
          "at", "by", "against", "around", "middle", "corner", "biggest", "largest", "smallest",
          "tallest", "shortest", "bigger", "larger", "smaller", "taller", "second", "third", "last",
          "other", "another", "back", "rear", "upper", "lower", "nearby", "adjacent", "opposite", "beyond", "across",
          "toward", "towards", "within", "outside", "different", "remaining",
          # relations to another thing ("with" before a part word names the part: _part_phrasings)
          "with", "containing", "holding", "facing", "after", "before", "north", "south", "east", "west",
          # order and comparison ("first" is left out: "first aid kit")
          "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "next", "final", "penultimate",
          "previous", "latter", "former", "heaviest", "longest", "widest", "narrowest", "thinnest", "thickest",
          "highest", "lowest", "heavier", "longer", "wider", "narrower", "thinner", "thicker", "higher", "topmost",
          "uppermost", "lowermost", "bottommost", "innermost", "outermost", "frontmost", "foremost")
_ORDINAL_OR_NUMBER = re.compile(r"^(?:\d+(?:st|nd|rd|th|x)?|x\d+)$")  # "2", "2nd", a shop's "2x" and "x2"


class PromptError(ValueError):
    """A prompt that cannot be answered; the message is meant for the user."""


@dataclass(frozen=True)
class ParsedPrompt:
    """A validated prompt: what to find (``object_phrase``) and optionally which part of it to grasp."""

    text: str  # normalised prompt (lower case, single spaces)
    object_phrase: str
    part_phrase: str | None = None

    @property
    def part_query(self) -> str | None:
        """The phrase whose relevancy locates the part on the object, e.g. "blue mug handle"."""
        return None if self.part_phrase is None else f"{self.object_phrase} {self.part_phrase}"


@dataclass(frozen=True)
class NamedObject:
    """An object phrase split into the attribute words it asks for and the name the rest forms.

    "green mug" -> attributes ("green",), name "mug". Without a listed attribute word, the name is the phrase.
    """

    phrase: str
    name: str
    attributes: tuple[str, ...] = ()

    def alternatives(self, attribute_words: tuple[str, ...]) -> list[str]:
        """The phrase with its attributes replaced by each other listed word, in the asked word's place:
        "green mug" -> ["red mug", "orange mug", ...]. Empty when no attribute was asked.

        Several listed attributes are also replaced by each one alone ("red blue mug" -> ... "red mug",
        "blue mug"): a blue mug fits "red blue mug" better than any other colour, so only the asked colours on
        their own can tell that it is not red as well."""
        if not self.attributes:
            return []
        words = self.phrase.split()
        first = min(words.index(a) for a in self.attributes)  # "dark cyan mug": the slot starts at "dark"
        rest = [w for w in words if w not in self.attributes]
        listed = [a for a in self.attributes if a in attribute_words]
        alone = listed if len(listed) > 1 else []
        return [" ".join(rest[:first] + [other] + rest[first:])
                for other in [w for w in attribute_words if w not in self.attributes] + alone]


def name_object(object_phrase: str, attribute_words: tuple[str, ...]) -> NamedObject:
    """Split ``object_phrase`` into attribute words (those listed in ``attribute_words``) and its name.

    A hyphen joins no words here: "purple-mug" is the purple mug (a text encoder reads it so), and a colour
    hidden in one hyphenated word would escape the comparison with the other colours.
    """
    words = object_phrase.replace("-", " ").split()
    object_phrase = " ".join(words)
    attributes = tuple(dict.fromkeys(w for w in words if w in attribute_words))
    name = " ".join(w for w in words if w not in attribute_words)
    if not name:  # "red": nothing but a colour is asked for, so the colour is the name
        return NamedObject(object_phrase, object_phrase)
    return NamedObject(object_phrase, name, attributes)


def name_prefixes(name: str) -> list[str]:
    """The shorter names a longer one may really be, with the rest a part phrase: "mug drop table" ->
    ["mug", "mug drop"]. The query keeps the one the scene matches best (see pipeline)."""
    words = name.split()
    return [" ".join(words[:k]) for k in range(1, len(words))]


def name_endings(name: str) -> list[str]:
    """The shorter names a longer one may really be, with the words before them a modifier (an attribute the
    list lacks): "dark cyan mug" -> ["cyan mug", "mug"]. The query keeps the one the scene matches best."""
    words = name.split()
    return [" ".join(words[k:]) for k in range(1, len(words))]


def validate_prompt(prompt: str | bytes, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """The prompt as a clean, lower-case string with single spaces; :class:`PromptError` on bad input."""
    if isinstance(prompt, (bytes, bytearray)):
        try:
            prompt = bytes(prompt).decode("utf-8")
        except UnicodeDecodeError as err:
            raise PromptError(f"prompt is not valid UTF-8 (byte {err.start})") from None
    if not isinstance(prompt, str):
        raise PromptError(f"prompt must be text, got {type(prompt).__name__}")
    try:
        # Lone surrogates arrive when non-UTF-8 bytes were decoded with surrogateescape (e.g. from argv).
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise PromptError("prompt is not valid UTF-8 (it contains undecodable bytes)") from None
    if len(prompt) > max_chars:
        raise PromptError(f"prompt is too long ({len(prompt)} characters, at most {max_chars})")
    for index, char in enumerate(prompt):
        if unicodedata.category(char) in ("Cc", "Cf") and char != " ":
            raise PromptError(f"prompt contains a control character (U+{ord(char):04X} at position {index})")
    text = " ".join(unicodedata.normalize("NFKC", prompt).translate(_SAME_CHARACTERS).split()).lower()
    if not text:
        raise PromptError("prompt is empty: say what to grasp, e.g. 'mug handle'")
    return text


def parse_prompt(prompt: str | bytes, part_words: tuple[str, ...] = DEFAULT_PART_WORDS,
                 max_chars: int = MAX_PROMPT_CHARS,
                 attribute_words: tuple[str, ...] = DEFAULT_ATTRIBUTE_WORDS) -> ParsedPrompt:
    """Validate ``prompt`` and split it into object and part phrases (see the module docstring)."""
    text = _SEPARATED_UP.sub(r"\1 up \2", validate_prompt(prompt, max_chars))
    _refuse_unresolvable(text, part_words, attribute_words)
    if ";" in text:
        if text.count(";") > 1:  # "mug;handle;rim" was read as the part "handle rim"
            raise PromptError(f"more than one ';' in {text!r}: write 'object;part', e.g. 'mug;handle'")
        object_text, _, part_text = text.partition(";")
        object_phrase, part_phrase = _clean(object_text), _clean(part_text)
        if not object_phrase:
            raise PromptError(f"no object before ';' in {text!r}: write 'object;part', e.g. 'mug;handle'")
        if part_text.strip() and not part_phrase:  # "mug;the" grasped the whole mug as if no part were asked
            raise PromptError(f"{text!r} names no part after ';': write 'object;part', e.g. 'mug;handle', or "
                              f"just the object")
        if part_phrase and (name_object(part_phrase, attribute_words).name
                            == name_object(object_phrase, attribute_words).name):
            # "mug;red mug" was answered on the mug, at whatever region fit "red mug" best
            raise PromptError(f"{text!r} names the object again after ';', not a part: write 'object;part', e.g. "
                              f"'mug;handle', or just the object")
        return ParsedPrompt(text, *_attributes_to_object(object_phrase, part_phrase, part_words, attribute_words))
    phrase = _clean(_possessives(_part_phrasings(text, part_words)))
    if not phrase:
        raise PromptError(f"prompt {text!r} names nothing to grasp")
    match = _PART_OF_OBJECT.match(phrase)
    if match:
        object_phrase = _clean(match["object"])
        if not object_phrase:  # "mug of the": the text encoder was asked to embed an empty name
            raise PromptError(f"{text!r} names no object after 'of': write e.g. 'the handle of the mug'")
        # "thanks of the mug": an empty part, the whole mug grasped
        if not (part_phrase := _clean(match["part"])):
            raise PromptError(f"{text!r} names no part before 'of': write e.g. 'the handle of the mug', or just the "
                              f"object")
        return ParsedPrompt(text, *_attributes_to_object(object_phrase, part_phrase, part_words, attribute_words))
    object_phrase, part_phrase = _split_trailing_part(phrase, part_words, attribute_words)
    if part_phrase is None:
        object_phrase, part_phrase = _split_leading_part(phrase, part_words, attribute_words)
    return ParsedPrompt(text, object_phrase, part_phrase)


def _part_phrasings(text: str, part_words: tuple[str, ...]) -> str:
    """``text`` with the ways of naming a part by a place word read as the plain forms: "the handle on the mug" as
    "the handle of the mug", "the mug by its handle" / "at the handle" / "with the handle" as "the mug handle".
    Only with a known part word: "the mug by the bowl" names a place and "the mug with the bowl" a relation; they
    stay for :func:`_refuse_unresolvable` to refuse."""
    if not part_words:
        return text
    parts = "|".join(re.escape(w) for w in sorted(part_words, key=len, reverse=True))
    text = re.sub(rf"\b({parts})s? on ", r"\1 of ", text)  # "the handles on the mug" too
    return re.sub(rf" (?:by|at|with) (?:the |its |their |a |an )?({parts})s?\b", r" \1", text)


def _possessives(text: str) -> str:
    """"the mug's handle" and "the mugs' handle" as "the mug handle", "the mugs handle"."""
    return text.replace("'s ", " ").replace("s' ", "s ")


def _attributes_to_object(object_phrase: str, part_phrase: str, part_words: tuple[str, ...],
                          attribute_words: tuple[str, ...]) -> tuple[str, str | None]:
    """(object phrase, part phrase) with the attribute words of ``part_phrase`` moved before the object ("mug;blue
    handle", "the blue handle of the mug" -> "blue mug", "handle"), as a colour before or after a part word already
    is: the query compares colours on instances of the object, never on a part, so a colour left in the part phrase
    was never compared ("blue handle of the mug" grasped the red mug's handle). A part phrase of attributes alone
    ("mug;red") stays as it is; an empty one is None."""
    words = part_phrase.replace("-", " ").split()
    rest = [w for w in words if w not in attribute_words]
    if not rest or len(rest) == len(words):
        return object_phrase, _singular_part(part_phrase, part_words) or None
    moved = [w for w in dict.fromkeys(words) if w in attribute_words and w not in object_phrase.split()]
    return " ".join(moved + [object_phrase]), _singular_part(" ".join(rest), part_words)


def _singular_part(phrase: str, part_words: tuple[str, ...]) -> str:
    """``phrase``, or the part word it is the plural of ("handles" -> "handle"): a plural part is answered with one
    of them, as a plural name is. Read as no part word, "handles" of the blue mug was refused because the red
    mug's handle fits it too."""
    return phrase[:-1] if phrase not in part_words and phrase.endswith("s") and phrase[:-1] in part_words else phrase


def _refuse_unresolvable(text: str, part_words: tuple[str, ...], attribute_words: tuple[str, ...]) -> None:
    """:class:`PromptError` when ``text`` (validated) asks what the query cannot resolve (module docstring)."""
    symbol = next((c for c in text if unicodedata.category(c) in _SYMBOL_CATEGORIES and c != "+"), None)
    if symbol is not None and _clean(text):  # a symbol alone names nothing (parse_prompt says so)
        raise PromptError(f"{text!r} contains the symbol '{symbol}' (U+{ord(symbol):04X}), which the query cannot "
                          f"read: say it in words, e.g. 'red mug'")
    phrased = re.sub(r"\bw/o\b", "without", _possessives(_part_phrasings(text, part_words)))
    words = re.findall(r"[\w']+|[&+/]", phrased)
    joined = f" {' '.join(words)} "

    def first(phrases: tuple[str, ...]) -> str | None:
        found = [p for p in phrases if f" {p} " in joined and p not in part_words]
        return min(found, key=lambda p: joined.index(f" {p} ")) if found else None

    negated = [w for w in words if _NEGATED_WORD.search(w)]
    negated += [f"non {w}" for v, w in zip(words, words[1:]) if v == "non" and w in attribute_words]
    negated += [w for w in words if w.startswith("non") and w[3:] in attribute_words]
    if (word := first(_NEGATION) or next(iter(negated), None)
            or next((m.strip() for m in _EXCLUDED_WORD.findall(phrased)), None)):
        raise PromptError(f"{text!r} says what not to grasp ('{word}'); the query cannot resolve that: name the one "
                          f"thing to grasp, e.g. 'red mug'")
    segments = [s for s in (_clean(part) for part in text.replace(";", " ").split(",")) if s]
    if (word := first(_SEVERAL)) or len(segments) > 1:
        raise PromptError(f"{text!r} asks for more than one thing ('{word or ','}'): ask for one at a time, e.g. "
                          f"'red mug'")
    if (word := first(_COUNT)) or (word := next((w for w in words if _ORDINAL_OR_NUMBER.match(w)), None)):
        raise PromptError(f"{text!r} asks for a number of things ('{word}'): ask for one at a time, e.g. 'red mug'")
    if word := first(_PLACE):
        raise PromptError(f"{text!r} picks the object by place or comparison ('{word}'), which the query cannot "
                          f"resolve: name it by its colour and type, e.g. 'red mug'")


def _split_trailing_part(phrase: str, part_words: tuple[str, ...], attribute_words: tuple[str, ...]
                         ) -> tuple[str, str | None]:
    """"mug handle" -> ("mug", "handle"), and "mug handle red" -> ("mug red", "handle"): attribute words after the
    part are the object's. Read as the name "mug handle", a handle of any type fitted it: "knife handle red" on a
    scene without a knife grasped the red mug's handle."""
    words = phrase.split()
    end = len(words)
    while end > 1 and words[end - 1] in attribute_words:
        end -= 1
    # Longest known part suffix first, so multi-word parts ("power button") win over their last word.
    for size in range(end - 1, 0, -1):
        candidate = _singular_part(" ".join(words[end - size:end]), part_words)
        if candidate in part_words:
            return " ".join(words[:end - size] + words[end:]), candidate
    return phrase, None


def _split_leading_part(phrase: str, part_words: tuple[str, ...], attribute_words: tuple[str, ...]
                        ) -> tuple[str, str | None]:
    """"handle blue mug", "blue handle mug": a known part word that starts the name (after any attribute words) and
    is followed by more of it is the part of the rest. Read as one name, "handle mug" also fits every other
    object's handle: on a blurred field a blue screwdriver's handle, where "blue" won by more, was grasped."""
    words = phrase.split()
    start = next((i for i, w in enumerate(words) if w not in attribute_words), len(words))
    for size in range(len(words) - start - 1, 0, -1):
        candidate, rest = _singular_part(" ".join(words[start:start + size]), part_words), words[start + size:]
        if candidate in part_words and any(w not in attribute_words for w in rest):
            return " ".join(words[:start] + rest), candidate
    return phrase, None


def _clean(phrase: str) -> str:
    phrase = " ".join(re.sub(r"[^\w\s'-]", " ", phrase).split())
    # Quotes and dashes around the words go before the fillers: "- the red mug" kept its "the" for the encoder.
    while (phrase := phrase.strip(" '-")) not in _LEADING_FILLERS + _TRAILING_FILLERS:
        # one filler at a time ("pick up" before "pick")
        leading = next((f for f in _LEADING_FILLERS if phrase.startswith(f + " ")), None)
        trailing = next((f for f in _TRAILING_FILLERS if phrase.endswith(" " + f)), None)
        if leading is None and trailing is None:
            return phrase
        phrase = phrase[len(leading) + 1:] if leading is not None else phrase[:-len(trailing) - 1]
    return ""
