"""Which language an appeal is written in (ru, kk or mixed), and so which language we answer in.

Kazakh reaches us in three scripts: proper Cyrillic (with ә ғ қ ң ө ұ ү һ і), Cyrillic typed
on a Russian keyboard (the Kazakh letters replaced by their look-alikes: "жок", "комек",
"коше") and Latin ("jok", "zhoq", "komek"). Each word is marked Kazakh (a Kazakh letter, a
common Kazakh word in any of the three spellings, a Kazakh-only ending), Russian (function
words, typical endings, common transliterated words) or neither (names, numbers). The counts
decide: two or more of each is ``mixed``, otherwise the majority.

One source of truth for both values: :func:`languages` gives the three-way language and the
reply language (ru or kk, because an answer is in one language) from the same counts; a
mixed text is answered in the language most of its marked words are in, Kazakh on a tie.
"""

from __future__ import annotations

import re

from nlp.places import fold

KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһі", "агкноуухи")


def _words_of(text: str) -> list[str]:
    return text.split()


# Common Kazakh words of appeals, written with Kazakh letters. Each is also known folded to
# Russian look-alikes ("жоқ" → "жок"), as typed on a Russian keyboard.
_KAZAKH_PROPER = _words_of(
    """
    және мен жоқ емес көше көшесі көшесінде көшеде көшені үй үйде үйі үйдің үйге
    аулада ауласында аула сәлем сәлеметсіз сәлеметсіздер саламатсыз рахмет рақмет бізде
    біздің біз сіз сіздер сізге қала ауданы ауданында аудан жылу су жарық неге қашан
    керек көмек көмектесіңіз көмектесіңіздер көмектесіңіздерші өтініш өтінемін өтінеміз
    сұраймын сұраймыз жауап жауабы жанында маңында бері болды болмады болады болмайды рет
    бірнеше бір екі үш төрт күн күннен күні апта аптадан айдан жыл жылдан құрметті
    ешкім ешқандай тез арада шешу шешуді шешіледі тұрғындар тұрамыз балалар бала қарттар
    көп қайда қалай неше кім үшін туралы бойынша дейін кейін бұрын әлі енді мұнда
    осы бұл сол ма ме ба бе ғой ғана бірақ немесе сондықтан жатыр келеді
    келмейді бермейді істемейді жоқпын ықшамаудан ықшамауданы ықшамауданында мектеп
    балабақша емхана жол жолы жолдар көлік аялдама тұрақ қоқыс жарықтандыру
    шам шамдар жанбайды ағып ағады суық ыстық лас таза жөндеу құбыр қауіп қауіпті өрт
    иісі әкімдік әкімдігі әкімдігіне әкімшілік шара қолдану қолдануыңызды күтеміз
    наразы көршілер көрші қазір бүгін кеше ертең таңертең кешке түнде мүмкін міндетті
    апай ағай жаным айналайын ассалаумағалейкум
    """
)
# Greetings, thanks and forms of address: said in Kazakh by Russian speakers too, so alone
# they do not make a Russian text mixed ("Здравствуйте, у нас нет света, рахмет").
KAZAKH_COURTESY = frozenset(
    _words_of(
        """
    рахмет рақмет рахмат сәлем салем сәлеметсіз салеметсиз сәлеметсіздер салеметсиздер
    саламатсыз бе ба ме ма апай ағай агай жаным айналайын ассалаумағалейкум
    ассалаумагалейкум құрметті курметти rahmet rakhmet raqmet salem salemetsiz
    salemetsizder salamatsyz be ba me ma qurmetti kurmetti
    """
    )
)
# Kazakh words people type without Kazakh letters that their folding does not give
# ("салем", "комектесиниз") and Latin spellings (two romanizations are common).
_KAZAKH_EXTRA = _words_of(
    """
    салем салеметсиз салеметсиздер рахмет рахмат отиниш отинемин комектесиниз
    комектесиниздер комектесиниздерши ыкшамаудан ыкшамауданы ыкшамауданда
    jok joq zhok zhoq emes koshe koshesi koshesinde koshede uy uyde uiy aulada sәlem
    salem salemetsiz salemetsizder salamatsyz rahmet rakhmet raqmet bizde bizding biz siz
    qala kala audany audan zhylu jylu su zharyk zharyq jaryq jaryk nege qashan kashan kerek
    komek komektesiniz komektesingiz komektesingizder komektesingizdershi otinish otinemin
    suraymyn suraymyz zhauap jauap zhanynda janynda manynda mangynda beri boldy bolmady
    bolady ret birneshe bir eki ush kun kunnen apta aptadan aydan zhyl zhyldan jyl
    qurmetti kurmetti eshkim tez arada sheshudi sheshiledi turgyndar turamyz balalar bala
    qarttar karttar kop qayda kayda qalay kalay ushin turaly boyynsha deyin keyin buryn
    munda osy bul ma me ba be goy biraq zhatyr jatyr keledi kelmeydi bermeydi
    istemeydi zhoqpyn zhokpyn yqshamaudany ykshamaudany mektep balabaqsha balabaksha
    emhana zhol jol kolik qoqys kokys shamdar suyk suyq ystyk ystyq las zhondeu qauip
    akimdik akimdigi akimdigine shara kutemiz narazy korshiler korshi qazir kazir bugin
    keshe erteng tunde mumkin
    """
)
KAZAKH_WORDS = frozenset(
    {
        *_KAZAKH_PROPER,
        *(word.translate(_KAZAKH_TO_RUSSIAN) for word in _KAZAKH_PROPER),
        *_KAZAKH_EXTRA,
    }
)
# Endings no Russian word has (checked on the Russian texts of the corpus and of the
# kzgovdata pairs): the Kazakh person endings, locatives and negations, in Cyrillic typed
# without Kazakh letters and in Latin.
KAZAKH_ENDINGS = (
    "ймын",
    "ймыз",
    "ймиз",
    "мыз",
    "ныз",
    "низ",
    "низдер",
    "ныздар",
    "сыз",
    "сиз",
    "ында",
    "инде",
    "ынан",
    "инен",
    "дагы",
    "деги",
    "тагы",
    "теги",
    "мейди",
    "майды",
    "ейди",
    "айды",
    "ылды",
    "илди",
    "ymyn",
    "ymyz",
    "myz",
    "miz",
    "ngyz",
    "ngiz",
    "ynda",
    "inde",
    "dagy",
    "degi",
    "meydi",
    "maydy",
    "eydi",
    "aydy",
)
# Russian words that mark a Russian stretch in a text that also has Kazakh words.
RUSSIAN_WORDS = frozenset(
    _words_of(
        """
    и в во на не нет что как это по за от до у из же но или уже очень есть был была было
    мы вы они он она я нас нам вас вам который которые когда где почему просим прошу
    пожалуйста здравствуйте спасибо помогите третий день неделю дома доме дворе улице
    вообще срочно опять снова еще тоже только можно нельзя надо нужно блин короче реально
    просто типа кстати
    pozhaluysta pozhalujsta nadeemsya vashu pomosch pomoshch pomogite proshu prosim
    srochno uzhe ochen zdravstvuyte spasibo vopros reshit
    """
    )
)
_RUSSIAN_ENDINGS = ("ые", "ый", "ого", "ому", "ими", "ыми", "ться", "тся", "ение", "ются")
_WORD = re.compile(r"[a-zа-яәғқңөұүһі]+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")
# After these a word is a place's name ("мкр Шаңырақ", "возле Тұңғыш Президент саябағы"),
# Kazakh letters or not, and says nothing of the language the citizen writes in.
PLACE_MARKERS = frozenset(
    _words_of(
        """
    мкр мкрн микрорайон микрорайоне микрорайона район района районе ул улица улице улицы
    пр проспект проспекте проспекта пер переулок переулке парк парке сквер сквере площадь
    площади тц жк возле около рядом у с в на по до от школа школе
    mkr rayon ulitsa ul prospekt pr
    """
    )
)


def _kazakh(word: str) -> bool:
    if word in KAZAKH_WORDS or any(letter in KAZAKH_LETTERS for letter in word):
        return True
    if word.isascii() and len(word) > 3 and "q" in word:  # Latin Kazakh's қ ("qashan")
        return True
    return len(word) > 4 and word.endswith(KAZAKH_ENDINGS)


def _russian(word: str) -> bool:
    return word in RUSSIAN_WORDS or (len(word) > 4 and word.endswith(_RUSSIAN_ENDINGS))


def _words(text: str, names: frozenset[str] = frozenset()) -> list[str]:
    """The words that speak for a language: names are left out — a capitalized word inside
    a sentence ("Район Самғау"), the word after a place marker ("пр жібек жолы"), a word of
    the gazetteer's place names (``names``, folded) — unless it is a common Kazakh word.
    Words in capitals are words, not names."""
    kept: list[str] = []
    previous = ""
    for match in _WORD.finditer(text.replace("ё", "е").replace("Ё", "Е")):
        raw = match.group()
        word = raw.lower()
        sentence_start = not previous or _SENTENCE_END.search(text[: match.start()]) is not None
        titled = raw[0].isupper() and not raw.isupper()
        name = (titled and not sentence_start) or (
            word not in KAZAKH_WORDS and (previous in PLACE_MARKERS or fold(word) in names)
        )
        if not name:
            kept.append(word)
        previous = word
    return kept


def counts(text: str, names: frozenset[str] = frozenset()) -> tuple[int, int, int]:
    """(Kazakh-marked words, of them not courtesy words, Russian-marked words) of a text."""
    kazakh = substantive = russian = 0
    for word in _words(text, names):
        if _kazakh(word):
            kazakh += 1
            substantive += word not in KAZAKH_COURTESY
        elif _russian(word):
            russian += 1
    return kazakh, substantive, russian


def languages(text: str, *, names: frozenset[str] = frozenset()) -> tuple[str, str]:
    """(ru, kk or mixed; the reply language ru or kk), both from the same word counts;
    ``names``: folded words of place names to leave out (``Lexicon.place_words``).

    Mixed: the majority language has two marked words or more and the other at least one
    (a Kazakh greeting or thanks does not count: Russian speakers say them too).
    """
    kazakh, substantive, russian = counts(text, names)
    reply = "kk" if kazakh >= russian and kazakh > 0 else "ru"
    if reply == "kk" and kazakh >= 2 and russian >= 1:
        return "mixed", reply
    if reply == "ru" and russian >= 2 and substantive >= 1:
        return "mixed", reply
    return reply, reply


def language_of(text: str, *, names: frozenset[str] = frozenset()) -> str:
    """ru, kk or mixed (what the classification row and the dry run show)."""
    return languages(text, names=names)[0]


def detect_language(text: str, *, names: frozenset[str] = frozenset()) -> str:
    """ru or kk: the language our replies to this text use."""
    return languages(text, names=names)[1]
