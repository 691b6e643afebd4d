"""Not-an-appeal, urgency with the words that raised it, and ru/kk/mixed language."""

from __future__ import annotations

from collections import Counter

import pytest

from nlp.annotate import annotate, language_of, load_lexicon, urgency_triggers
from nlp.not_appeal import check
from tests.nlp_support import DATA

LEXICON = load_lexicon(DATA)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Здравствуйте!", "greeting"),
        ("Добрый день, есть кто?", "greeting"),
        ("Сәлеметсіз бе", "greeting"),
        ("Спасибо большое за ответ!", "thanks"),
        ("Рахмет, түсіндім", "thanks"),
        ("Пассивный доход от 500 000 в месяц, переходи по ссылке https://t.me/easy", "spam"),
        ("Казино бонус 200% https://bit.ly/xyz", "spam"),
        ("Казино Вулкан: бонус 200% новым игрокам, промокод WIN", "spam"),
        ("Продам iPhone 15 недорого, звоните +7 701 123 45 67", "spam"),
        ("Крипта растёт, пиши в директ @easy_money_kz", "spam"),
        ("https://t.me/easy_money", "spam"),
        ("вы все дебилы бля", "abuse"),
        ("!!!", "empty"),
    ],
)
def test_not_an_appeal_with_its_reason(text: str, reason: str) -> None:
    found = check(text)
    assert found is not None and found.reason == reason
    assert found.evidence or reason == "empty"


@pytest.mark.parametrize(
    "text",
    [
        "Здравствуйте, третий день нет воды в доме на Абая 10",
        "бля третий день не вывозят мусор, контейнеры переполнены, примите меры",
        "Спасибо коммунальщикам за быстрый ремонт трубы на нашей улице, молодцы",
        "Рахмет, бірақ су әлі жоқ, көмектесіңіздер",
    ],
)
def test_real_appeals_with_greetings_thanks_or_swearing_are_appeals(text: str) -> None:
    assert check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Не выплачивают заработную плату, ставка уменьшена",
        "В магазине не дали скидку, хотел купить по акции хлеб для пенсионеров",
        "Коллекторы по займу звонят каждый день, заставляют купить страховку",
        "Незаконная реклама на фасаде дома: продам квартиру, звоните +7 701 123 45 67",
        "В подъезде расклеили рекламу казино и бонусы, просим убрать",
        "Скидки для пенсионеров в аптеке отменили, почему?",
    ],
)
def test_complaints_about_money_ads_or_shops_are_not_spam(text: str) -> None:
    """Sales words in a complaint (wages, a loan, an illegal ad) are the complaint's subject."""
    assert check(text) is None


def test_a_rejected_text_says_which_rejection_reason_fits() -> None:
    assert check("Казино бонус 200% https://bit.ly/xyz").rejection_reason == "spam"  # type: ignore[union-attr]  # asserted above
    assert check("вы все дебилы бля").rejection_reason == "abusive"  # type: ignore[union-attr]  # asserted above
    assert check("Здравствуйте").rejection_reason == "no_substance"  # type: ignore[union-attr]  # asserted above


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("В подъезде сильно пахнет газом, соседи не открывают", "gas", ["пахнет газом"]),
        ("Кіреберісте газ иісі шығып тұр", "gas", ["газ иісі"]),
        ("Нет отопления, на улице мороз минус 20, дети мёрзнут", "no_heating",
         ["нет отопления", "мороз", "минус 20"]),
        ("Подвал затопило, вода прибывает", "flooding", ["затопило"]),
        ("После ветра оборвало провода, они искрят на тротуаре", "fallen_wires",
         ["оборвало провода", "искрят"]),
        ("Көшеде сым үзіліп жерде жатыр", "fallen_wires", ["сым үзіліп"]),
        ("Ребёнок в опасности, один на балконе пятого этажа", "child_danger",
         ["ребенок в опасности"]),
    ],
)  # fmt: skip
def test_urgency_names_the_words_that_raised_it(text: str, reason: str, words: list[str]) -> None:
    triggers, reasons = urgency_triggers(text)
    assert reason in reasons
    for word in words:
        assert word in triggers


def test_calm_texts_are_not_urgent() -> None:
    assert urgency_triggers("Во дворе не вывозят мусор уже неделю") == ([], [])
    assert urgency_triggers("Газон вытоптан, просим озеленить двор") == ([], [])


@pytest.mark.parametrize(
    "text",
    [
        "Не горит свет в подъезде",
        "Фонари на улице не горят третий день",
        "Уже пара дней нет воды в доме",
        "Пара фонарей во дворе мигает",
        "ТЭЦ выбрасывает чёрный дым над районом",
        "Подъездте шам жанбайды",
    ],
)
def test_everyday_words_raise_no_alarm_and_no_safety_flag(text: str) -> None:
    """A dark staircase is not a fire and "пара дней" no bribe: neither may lift urgency or
    let an anonymous appeal past the anonymity rule."""
    result = annotate(text, LEXICON, use_model=False)
    assert (result.urgency, result.safety_flag) == ("normal", None), result.urgency_triggers


@pytest.mark.parametrize(
    ("text", "flag", "word"),
    [
        ("Горит дом на улице Абая, люди на балконах", "public_safety", "горит дом"),
        ("Машина горит во дворе у третьего подъезда", "public_safety", "машина горит"),
        ("Дым из окна квартиры на третьем этаже, никто не открывает", "public_safety",
         "дым из окна"),
        ("Көршінің үйінде өрт шықты, тез келіңіздер", "public_safety", "өрт"),
        ("Ауладағы көлік жанып жатыр", "public_safety", "көлік жанып жатыр"),
        ("Подозрительный пакет у школы, угроза взрыва", "public_safety", "угроза взрыва"),
        ("Учаскелік пара сұрады", "crime", None),
        ("У подъезда продают наркотики, закладчики каждый день", "crime", None),
    ],
)  # fmt: skip
def test_true_emergencies_in_russian_and_kazakh(text: str, flag: str, word: str | None) -> None:
    result = annotate(text, LEXICON, use_model=False)
    assert result.safety_flag == flag
    if word is not None:
        assert result.urgency == "high" and word in result.urgency_triggers


def test_fire_is_urgent_and_flagged_for_the_anonymous_rule() -> None:
    result = annotate("В подвале пожар, дым идёт в квартиры", LEXICON, use_model=False)
    assert result.urgency == "high"
    assert result.safety_flag == "public_safety"
    assert "пожар" in result.urgency_triggers


@pytest.mark.parametrize(
    ("text", "language", "reply"),
    [
        ("Во дворе не вывозят мусор уже неделю, контейнеры переполнены", "ru", "ru"),
        ("Ауламызда қоқыс бір апта бойы шығарылмайды", "kk", "kk"),
        ("Бізде жылу жоқ, батареи холодные уже неделю", "mixed", "kk"),
        ("Сәлеметсіз бе, у нас во дворе третий день нет воды, көмектесіңіздерші", "mixed", "ru"),
        # one Kazakh courtesy word does not mix a text, nor change the reply
        ("Здравствуйте, у нас нет света, рахмет", "ru", "ru"),
        ("Здравствуйте, у нас нет света, рақмет", "ru", "ru"),
        # Kazakh typed on a Russian keyboard, and in Latin letters
        ("Салеметсиз бе, бизде уш кун болды су жок, комек керек", "kk", "kk"),
        ("Коше жарык жок кешке, ыкшамауданда бала жур, отиниш", "kk", "kk"),
        ("Salemetsiz be, bizde su jok, komek kerek", "kk", "kk"),
        ("Qurmetti akim, koshede zharyq zhoq, tez arada sheshudi suraymyz", "kk", "kk"),
        # a place's Kazakh name does not make a Russian text Kazakh
        ("Возле парка Тұңғыш Президент не убирают мусор, просим принять меры", "ru", "ru"),
        ("Район Самғау, мне ответили отпиской, ничего не сделали", "ru", "ru"),
        ("НЕТ ВОДЫ В ДОМЕ НА АБАЯ УЖЕ ТРЕТИЙ ДЕНЬ", "ru", "ru"),
        ("ҚҰРЫЛЫС КӨЛІКТЕРІ КӨШЕНІ ЛАСТАП ЖАТЫР КЕШЕДЕН БЕРІ", "kk", "kk"),
    ],
)
def test_language_ru_kk_or_mixed_and_the_reply_language(
    text: str, language: str, reply: str
) -> None:
    assert language_of(text) == language
    result = annotate(text, LEXICON, use_model=False)
    assert (result.language, result.reply_language) == (language, reply)


def test_reply_language_on_the_corpus_however_kazakh_is_typed() -> None:
    """The corpus's Kazakh rows typed without Kazakh letters (Russian keyboard, Latin) get a
    Kazakh reply, Russian rows a Russian one: measured, see docs/nlp.md for the figures."""
    from nlp.corpus import load_corpus

    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in load_corpus(DATA):
        if row.language == "mixed":
            continue
        way = row.language
        if row.language == "kk" and ("latin" in row.variant or "ru_keyboard" in row.variant):
            way = "kk_without_kazakh_letters"
        total[way] += 1
        right[way] += annotate(row.text, LEXICON, use_model=False).reply_language == row.language
    assert right["kk_without_kazakh_letters"] >= 0.95 * total["kk_without_kazakh_letters"]
    assert right["kk"] >= 0.99 * total["kk"]
    assert right["ru"] >= 0.99 * total["ru"]


def test_a_model_with_foreign_labels_never_puts_them_on_appeals() -> None:
    """A model trained on a city's CSV (other labels) in the model directory: only the
    taxonomy's categories are used, and with none of them the keywords decide."""
    from nlp.engine import Prediction

    text = "На улице прорвало трубу водопровода, вода течёт по дороге"
    mixed = Prediction("ЖКХ", 0.9, (("ЖКХ", 0.9), ("water.leak", 0.06), ("дороги", 0.04)))
    result = annotate(text, LEXICON, prediction=mixed, use_model=False)
    assert (result.category_code, result.confidence, result.topic_source) == (
        "water.leak",
        0.06,
        "model",
    )
    foreign = Prediction("ЖКХ", 0.9, (("ЖКХ", 0.9), ("дороги", 0.1)))
    result = annotate(text, LEXICON, prediction=foreign, use_model=False)
    assert (result.category_code, result.topic_source) == ("water.leak", "keywords")
