"""What a social-media comment says, as features: its words normalised and its signals counted.

Comments are not appeals written to an office: they are short, lower-case, full of emoji,
@mentions, sarcasm and Kazakh typed on a Russian keyboard or in Latin letters. Two things
are done here, both pure (no database, no model):

- ``normalize`` gives the text the n-gram model reads: every word folded to one spelling
  (``nlp.places.fold``: "жоқ"/"жок"/"joq" → "жок"), emoji named by what they mean (👏 is
  applause or sarcasm, 😂 a joke), links, phones and @handles replaced by a token, numbers
  by one token (a house number matters, which one does not);
- ``signals`` counts the marks of an appeal (a problem, a malfunction, how long it has
  lasted, a request, a question, a place, an address to the akimat) and of a comment that
  is not one (praise, thanks, laughter, another city, national policy, advertising, a reply
  to another commenter). These generalise beyond the labelled examples: a new street or a
  new kind of breakdown still carries "не работает" or "третий день".

The post a comment stands under is context: a short question under the city's post
("а у нас когда?") asks the city.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from nlp.places import extract_places, fold

CONTEXT_SEPARATOR = "\x1f"
# Bumped whenever ``normalize`` or ``signals`` change: a model trained on other features is
# retrained rather than fed features it never saw.
FEATURES_VERSION = 2

# Emoji by meaning; the rest of the pictographs are one token.
_EMOJI_NAMES = {
    "👏": "эмоджиаплодисменты",
    "🤡": "эмоджиклоун",
    "😂": "эмоджисмех",
    "🤣": "эмоджисмех",
    "😅": "эмоджисмех",
    "😁": "эмоджисмех",
    "😆": "эмоджисмех",
    "😄": "эмоджисмех",
    "😃": "эмоджисмех",
    "😹": "эмоджисмех",
    "❤": "эмоджилюбовь",
    "😍": "эмоджилюбовь",
    "🥰": "эмоджилюбовь",
    "💖": "эмоджилюбовь",
    "💕": "эмоджилюбовь",
    "😘": "эмоджилюбовь",
    "👍": "эмоджиодобрение",
    "💪": "эмоджиодобрение",
    "✅": "эмоджиодобрение",
    "👌": "эмоджиодобрение",
    "🔥": "эмоджиогонь",
    "🙏": "эмоджимольба",
    "😭": "эмоджиплач",
    "😢": "эмоджиплач",
    "🥶": "эмоджихолод",
    "😡": "эмоджизлость",
    "🤬": "эмоджизлость",
    "😠": "эмоджизлость",
    "🤦": "эмоджифейспалм",
    "😏": "эмоджиухмылка",
    "🙄": "эмоджиухмылка",
    "🤷": "эмоджипожимание",
}
_LAUGH_EMOJI = frozenset("😂🤣😅😁😆😄😃😹")
_LOVE_EMOJI = frozenset("❤😍🥰💖💕😘👍💪✅👌🔥🎉🎊")
_SARCASM_EMOJI = frozenset("👏🤡🙄😏🤦")
_ANGER_EMOJI = frozenset("😡🤬😠😭😢🥶")
_URL = re.compile(r"(?:https?://|www\.|t\.me/|wa\.me/|bit\.ly/)\S*", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\d)(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_HANDLE = re.compile(r"(?<![\w.])@[\w.]{2,}")
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[?!]", re.UNICODE)
_NUMBER_WORD = "число"


def pack(text: str, context: str | None = None) -> str:
    """One string for the model: the comment and, after a separator, its post."""
    text = text.replace(CONTEXT_SEPARATOR, " ")
    if not context:
        return text
    return f"{text}{CONTEXT_SEPARATOR}{context.replace(CONTEXT_SEPARATOR, ' ')}"


def unpack(packed: str) -> tuple[str, str]:
    """(comment, post) of a packed string; the post is "" when none was given."""
    text, _, context = packed.partition(CONTEXT_SEPARATOR)
    return text, context


def _is_pictograph(char: str) -> bool:
    code = ord(char)
    return (0x2600 <= code <= 0x27BF) or (0x1F000 <= code <= 0x1FAFF)


def tokens(text: str) -> list[str]:
    """Folded words, named emoji, ``?``/``!`` and placeholders, in order."""
    text = _URL.sub(" ссылка ", text)
    text = _PHONE.sub(" телефон ", text)
    text = _HANDLE.sub(" упоминание ", text)
    spaced: list[str] = []
    for char in text:
        if char in _EMOJI_NAMES:
            spaced.append(f" {_EMOJI_NAMES[char]} ")
        elif _is_pictograph(char):
            spaced.append(" эмоджи ")
        else:
            spaced.append(char)
    out: list[str] = []
    for match in _TOKEN.finditer("".join(spaced)):
        word = match.group()
        if word.isdigit():
            out.append(_NUMBER_WORD)
        elif word in "?!":
            out.append(word)
        else:
            out.append(fold(word))
    return out


def normalize(text: str) -> str:
    """The text the n-gram model reads (see the module's docstring)."""
    return " ".join(tokens(text))


def _fold_all(words: str) -> tuple[str, ...]:
    return tuple(fold(word) for word in words.split())


def _fold_phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    """Phrases spelled as ``tokens`` spells the text ("день" → "ден", "третий" → "третии")."""
    return tuple(" ".join(fold(word) for word in phrase.split()) for phrase in phrases)


# Word stems, folded (Kazakh letters to their Russian look-alikes, й/ы → и, no ь).
PROBLEM_STEMS = _fold_all(
    """
    ям ямк дыр колдоб асфальт дорог тротуар бордюр свет фонар освещ электр вод канализ
    отоплен батаре тепл горяч холодн мусор свалк снег сугроб лед гололед сосульк собак
    бездом шум грохот парков светофор переход остановк автобус маршрут лифт крыш подвал
    подъезд арык люк дерев стройк строител пыл дым смог запах вонь газ труб грязь лужа
    затоп потоп авари провал трещин сломан разбит площадк качел забор провод столб
    ржав напор давлен прорыв прорвал течь течет теч протек крыс тарака плесен отключ
    шункыр шукыр жол жарик шам жарык су жилу кокис кокыс кар муз ит шу багдаршам аялдама
    лифт шатир арик кариз агаш курилис шан тутин ис иис газ кубир балшик шалшик жарык
    батарея суик суык лас кираган сынган сынип агип
    """
)
MALFUNCTION_PHRASES = _fold_phrases(
    (
        "не работает",
        "не работают",
        "не горит",
        "не горят",
        "не вывоз",
        "не убира",
        "не убран",
        "не чист",
        "не дают",
        "не дали",
        "не включ",
        "не отвеча",
        "не берет",
        "не приход",
        "не пришел",
        "не ходит",
        "не останавлива",
        "нет света",
        "нет воды",
        "нет тепла",
        "нет газа",
        "нет отопления",
        "нет горячей",
        "нет освещения",
        "нет дороги",
        "никто не",
        "ничего не",
        "бесполезно",
        "невозможно",
        "истемеиди",
        "истемеди",
        "жанбаиди",
        "жанбаид",
        "шигарилмаиди",
        "тазаланбаиди",
        "тазаламаиди",
        "келмеди",
        "келмеиди",
        "бермеиди",
        "жок",
        "жук",
        "мумкин емес",
    )
)
DURATION_PHRASES = _fold_phrases(
    (
        "день",
        "дня",
        "дней",
        "недел",
        "месяц",
        "год",
        "лет",
        "с утра",
        "со вчера",
        "до сих пор",
        "уже",
        "опять",
        "снова",
        "который",
        "каждый",
        "бери",
        "куннен",
        "кун болди",
        "аптадан",
        "аидан",
        "жилдан",
        "али",
        "тагы",
        "кеше",
    )
)
REQUEST_STEMS = _fold_all(
    """
    сделайте уберите примите прошу просим пожалуйста разберитесь помогите поставьте
    установите проверьте верните добавьте посыпьте почистите отремонтируйте замените
    вывезите почините обратите решите ускорьте требуем требую накажите остановите
    отинемин отинемиз отиниш сураимин сураимиз комектесиниз комектесиниздер шара колданиниз
    """
)
QUESTION_WORDS = frozenset(
    _fold_all(
        """
        когда почему зачем куда где как кто сколько подскажите скажите будет будут ли
        можно кашан неге каида калаи ким канша ма ме ба бе па пе
        """
    )
)
CITY_WORDS = _fold_all(
    """
    акимат аким акимдик акимшилик ксп кск оси пик коммунальщ полиц район ауданд
    алматинские городск квартал подрядчик
    """
)
ADDRESS_WORDS = frozenset(
    _fold_all(
        """
        дом дома доме кв квартир подъезд двор дворе ул улица улице мкр микрорайон уи уиде
        аула аулада коше кошеси кошесинде пер проспект
        """
    )
)
PRAISE_STEMS = _fold_all(
    """
    молодц красот красив супер отличн здоров шикарн класс прекрасн замечательн
    крут ура наконец умниц хорош удобн уют лучш керемет жараисин тамаша адеми жаксы
    жакси тамаша гажаип
    """
)
THANKS_STEMS = _fold_all("спасиб спс благодар рахмет ракмет рахмат алгис")
LAUGH_WORDS = ("хаха", "ахах", "хах", "лол", "ржу", "ору", "шучу")
OTHER_CITIES = _fold_all(
    """
    астан нур-султан шимкент караганд тараз павлодар уральск орал актоб атирау семе
    усть-каменогорск оскемен костана кизилорд туркестан талдикорган кокшетау петропавл
    ташкент бишкек москв питер европ дуба америк китаи
    """
)
NATIONAL_STEMS = _fold_all(
    """
    правительств президент министр министерств депутат мажилис парламент республик
    казахстан стран налог пенси бензин доллар курс зарплат тариф укимет елде букил
    """
)
AD_STEMS = _fold_all(
    """
    продам продаю продаетс сдам сдаю сдаетс куплю недорог директ скидк акци гаранти
    звоните пишите ватсап whatsapp заказ доставк арзан жазиниз
    """
)
ARGUMENT_WORDS = frozenset(
    _fold_all(
        """
        ты тебе тебя тебе сам сама вы вам сен сенин озин сиз согласен согласна
        ноите ноют жалуетесь жаловаться нить нытье хватит
        """
    )
)

SIGNAL_NAMES = (
    "problem",
    "malfunction",
    "duration",
    "request",
    "question",
    "question_mark",
    "place",
    "house_number",
    "address_word",
    "city_actor",
    "praise",
    "thanks",
    "laugh",
    "sarcasm_emoji",
    "anger_emoji",
    "love_emoji",
    "emoji_only",
    "other_city",
    "national",
    "advert",
    "link_or_phone",
    "mention",
    "starts_with_mention",
    "argument",
    "thanks_and_problem",
    "words",
    "short",
    "exclamations",
    "question_with_post",
    "post_overlap",
)


def _count_stems(words: Sequence[str], stems: tuple[str, ...]) -> int:
    return sum(1 for word in words if word.startswith(stems))


def _count_phrases(folded_text: str, phrases: Sequence[str]) -> int:
    return sum(1 for phrase in phrases if f" {phrase}" in folded_text)


def signals(text: str, context: str = "") -> list[float]:
    """The counts named in ``SIGNAL_NAMES``, each squashed to about 0..1."""
    words = [w for w in tokens(text) if w not in ("?", "!")]
    plain = [w for w in words if not w.startswith("эмоджи")]
    padded = " " + " ".join(plain) + " "
    raw_words = [w.lower() for w in re.findall(r"[^\W\d_]+", text)]
    emoji = [c for c in text if _is_pictograph(c) or c in _EMOJI_NAMES]
    problem = _count_stems(plain, PROBLEM_STEMS)
    thanks = _count_stems(plain, THANKS_STEMS)
    places = extract_places(text)
    digits = re.findall(r"\d+", _PHONE.sub(" ", text))
    words_in_post = set(tokens(context)) if context else set()
    overlap = (
        len({w for w in plain if len(w) > 3} & words_in_post) / max(1, len(plain))
        if context
        else 0.0
    )
    question = sum(1 for w in plain if w in QUESTION_WORDS)
    values = {
        "problem": problem,
        "malfunction": _count_phrases(padded, MALFUNCTION_PHRASES),
        "duration": _count_phrases(padded, DURATION_PHRASES),
        "request": _count_stems(plain, REQUEST_STEMS)
        + sum(
            1
            for w in plain
            if len(w) > 6 and w.endswith(("низдар", "низдер", "низдарши", "низдерши", "иниз"))
        ),
        "question": question,
        "question_mark": text.count("?"),
        "place": len(places),
        "house_number": len(digits),
        "address_word": sum(1 for w in plain if w in ADDRESS_WORDS),
        "city_actor": _count_stems(plain, CITY_WORDS),
        "praise": _count_stems(plain, PRAISE_STEMS),
        "thanks": thanks,
        "laugh": sum(1 for c in text if c in _LAUGH_EMOJI)
        + sum(1 for w in raw_words if w.startswith(LAUGH_WORDS)),
        "sarcasm_emoji": sum(1 for c in text if c in _SARCASM_EMOJI),
        "anger_emoji": sum(1 for c in text if c in _ANGER_EMOJI),
        "love_emoji": sum(1 for c in text if c in _LOVE_EMOJI),
        "emoji_only": 1 if emoji and not plain else 0,
        "other_city": _count_stems(plain, OTHER_CITIES),
        "national": _count_stems(plain, NATIONAL_STEMS) + padded.count(" по всеи стране"),
        "advert": _count_stems(plain, AD_STEMS),
        "link_or_phone": len(_URL.findall(text)) + len(_PHONE.findall(text)),
        "mention": len(_HANDLE.findall(text)),
        "starts_with_mention": 1 if text.lstrip().startswith("@") else 0,
        "argument": sum(1 for w in plain if w in ARGUMENT_WORDS),
        "thanks_and_problem": 1 if thanks and (problem or question) else 0,
        "words": len(plain),
        "short": 1 if len(plain) <= 3 else 0,
        "exclamations": text.count("!"),
        "question_with_post": 1 if context and (question or "?" in text) else 0,
        "post_overlap": overlap,
    }
    return [
        values[name] if name == "post_overlap" else math.log1p(values[name]) / 2.0
        for name in SIGNAL_NAMES
    ]
