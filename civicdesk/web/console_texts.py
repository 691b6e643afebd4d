"""The operator console's strings, Russian and Kazakh, joined into ``texts.TEXTS`` on import.

Kept apart from ``texts.py`` so the console's wording has one owner; the keys start
with ``console.`` and never replace a shared key (checked at import).
"""

from __future__ import annotations

from typing import Final

from civicdesk.web.texts import TEXTS

CONSOLE_TEXTS: Final[dict[str, dict[str, str]]] = {
    "console.nav": {"ru": "Консоль оператора", "kk": "Оператор консолі"},
    "console.heading": {"ru": "Консоль оператора 1308", "kk": "1308 операторының консолі"},
    "console.forbidden": {
        "ru": "Консоль доступна только операторам колл-центра и администраторам.",
        "kk": "Консоль тек байланыс орталығының операторлары мен әкімшілерге қолжетімді.",
    },
    "console.call_not_found": {
        "ru": "Такого звонка нет.",
        "kk": "Мұндай қоңырау жоқ.",
    },
    # --- the header: queue metrics ---------------------------------------------------------
    "console.metrics": {"ru": "Очередь сегодня", "kk": "Бүгінгі кезек"},
    "console.metrics.offered": {"ru": "Поступило", "kk": "Түскені"},
    "console.metrics.answered": {"ru": "Отвечено", "kk": "Жауап берілгені"},
    "console.metrics.abandoned": {"ru": "Потеряно", "kk": "Жоғалғаны"},
    "console.metrics.abandonment_rate": {"ru": "Доля потерянных", "kk": "Жоғалған үлесі"},
    "console.metrics.service_level": {
        "ru": "Уровень сервиса (≤ 20 с)",
        "kk": "Қызмет деңгейі (≤ 20 с)",
    },
    "console.metrics.asa": {"ru": "Ср. ожидание ответа", "kk": "Жауапты орт. күту"},
    "console.metrics.aht": {"ru": "Ср. обработка", "kk": "Орт. өңдеу"},
    "console.metrics.logged_in": {"ru": "Операторов на линии", "kk": "Желідегі операторлар"},
    "console.metrics.available": {"ru": "Свободны", "kk": "Бос"},
    "console.metrics.waiting": {"ru": "В очереди", "kk": "Кезекте"},
    "console.metrics.missed_rings": {"ru": "Пропущено операторами", "kk": "Операторлар алмағаны"},
    "console.metrics.none": {"ru": "нет данных", "kk": "дерек жоқ"},
    "console.metrics.seconds": {"ru": "{value} с", "kk": "{value} с"},
    # --- the live stream -----------------------------------------------------------------
    "console.live.connecting": {"ru": "Подключение…", "kk": "Қосылуда…"},
    "console.live.on": {"ru": "Ожидание звонков", "kk": "Қоңырау күтілуде"},
    "console.live.off": {
        "ru": "Нет связи с сервером, переподключаемся…",
        "kk": "Сервермен байланыс жоқ, қайта қосылудамыз…",
    },
    "console.live.nojs": {
        "ru": "Карточка входящего звонка появляется автоматически при включённом JavaScript. "
        "Форма обращения работает и без него.",
        "kk": "Кіріс қоңырау карточкасы JavaScript қосулы болғанда өзі шығады. "
        "Өтініш нысаны онсыз да жұмыс істейді.",
    },
    "console.live.new_call": {
        "ru": "Соединён новый звонок. Форма ещё не отправлена: откройте карточку, когда "
        "закончите с ней.",
        "kk": "Жаңа қоңырау қосылды. Нысан әлі жіберілмеген: онымен жұмысты аяқтаған соң "
        "карточканы ашыңыз.",
    },
    "console.live.open_call": {"ru": "Открыть карточку звонка", "kk": "Қоңырау карточкасын ашу"},
    # --- the incoming-call panel ---------------------------------------------------------
    "console.call": {"ru": "Входящий звонок", "kk": "Кіріс қоңырау"},
    "console.call.none": {
        "ru": "Сейчас звонка нет. Когда очередь соединит вас с заявителем, здесь появится "
        "его карточка.",
        "kk": "Қазір қоңырау жоқ. Кезек сізді өтініш берушімен қосқанда, оның карточкасы "
        "осында шығады.",
    },
    "console.call.number": {"ru": "Номер", "kk": "Нөмір"},
    "console.call.withheld": {"ru": "номер скрыт", "kk": "нөмір жасырылған"},
    "console.call.queue": {"ru": "Очередь", "kk": "Кезек"},
    "console.call.connected": {"ru": "Соединён", "kk": "Қосылды"},
    "console.call.filed": {
        "ru": "Обращения по этому звонку",
        "kk": "Осы қоңырау бойынша өтініштер",
    },
    "console.caller": {"ru": "Заявитель", "kk": "Өтініш беруші"},
    "console.caller.new": {
        "ru": "Новый заявитель: обращений с этого номера не было.",
        "kk": "Жаңа өтініш беруші: бұл нөмірден өтініш болмаған.",
    },
    "console.caller.name_unknown": {"ru": "имя не указано", "kk": "аты көрсетілмеген"},
    "console.caller.language": {"ru": "Язык общения", "kk": "Сөйлесу тілі"},
    "console.caller.records": {
        "ru": "Объединено записей: {count}",
        "kk": "Біріктірілген жазбалар: {count}",
    },
    "console.caller.open": {"ru": "Открытые обращения", "kk": "Ашық өтініштер"},
    "console.caller.no_open": {"ru": "Открытых обращений нет.", "kk": "Ашық өтініштер жоқ."},
    "console.caller.recent": {"ru": "Недавно завершённые", "kk": "Жақында аяқталғандар"},
    "console.caller.history": {
        "ru": "Вся история заявителя ({count})",
        "kk": "Өтініш берушінің бүкіл тарихы ({count})",
    },
    "console.caller.repeat": {
        "ru": "Повторное обращение? Незакрытых обращений у заявителя: {count}; последнее — "
        "{number} «{category}» ({status}). Уточните, не о нём ли звонок.",
        "kk": "Қайталама өтініш пе? Өтініш берушінің жабылмаған өтініштері: {count}; соңғысы — "
        "{number} «{category}» ({status}). Қоңырау сол туралы емес пе, нақтылаңыз.",
    },
    "console.caller.repeat_flag": {"ru": "повтор", "kk": "қайталама"},
    "console.hint.repeat": {
        "ru": "Похоже на повтор обращения {number} ({status}) этого заявителя — "
        "возможно, стоит не регистрировать новое, а сообщить о ходе рассмотрения.",
        "kk": "Бұл өтініш берушінің {number} ({status}) өтінішінің қайталануына ұқсайды — "
        "жаңасын тіркемей, қаралу барысын хабарлаған дұрыс болар.",
    },
    "console.hint.duplicate": {
        "ru": "Об этой проблеме в этом месте уже сообщали: {number} ({status}).",
        "kk": "Бұл жердегі бұл мәселе туралы бұрын хабарланған: {number} ({status}).",
    },
    # --- the appeal form -----------------------------------------------------------------
    "console.form": {"ru": "Обращение со слов заявителя", "kk": "Өтініш берушінің сөзінен өтініш"},
    "console.form.text": {"ru": "Что говорит заявитель", "kk": "Өтініш берушінің айтқаны"},
    "console.form.text_hint": {
        "ru": "Запишите суть своими словами: что, где, с какого времени.",
        "kk": "Мәнін өз сөзіңізбен жазыңыз: не, қай жерде, қашаннан бері.",
    },
    "console.form.suggest": {"ru": "Подсказать по тексту", "kk": "Мәтін бойынша ұсыну"},
    "console.form.suggested": {
        "ru": "Заполнено по тексту ({confidence}% уверенности): проверьте и исправьте.",
        "kk": "Мәтін бойынша толтырылды ({confidence}% сенімділік): тексеріп, түзетіңіз.",
    },
    "console.form.no_suggestion": {
        "ru": "По тексту тему определить не удалось: выберите сами.",
        "kk": "Мәтін бойынша тақырып анықталмады: өзіңіз таңдаңыз.",
    },
    "console.form.auto": {"ru": "— по правилам —", "kk": "— ереже бойынша —"},
    "console.form.phone": {"ru": "Телефон заявителя", "kk": "Өтініш берушінің телефоны"},
    "console.form.name": {"ru": "Имя заявителя", "kk": "Өтініш берушінің аты"},
    "console.form.language": {"ru": "Язык заявителя", "kk": "Өтініш берушінің тілі"},
    "console.form.organization": {"ru": "Исполнитель", "kk": "Орындаушы"},
    "console.form.urgency": {"ru": "Срочность", "kk": "Шұғылдығы"},
    "console.form.file": {"ru": "Зарегистрировать обращение", "kk": "Өтінішті тіркеу"},
    "console.form.another": {
        "ru": "Можно зарегистрировать ещё одно обращение по этому же звонку.",
        "kk": "Осы қоңырау бойынша тағы бір өтініш тіркеуге болады.",
    },
    "console.done.filed": {
        "ru": "Обращение {number} зарегистрировано. Исполнитель: {organization}. "
        "Продиктуйте номер заявителю.",
        "kk": "{number} өтініші тіркелді. Орындаушы: {organization}. "
        "Нөмірді өтініш берушіге айтып беріңіз.",
    },
    "console.done.quick": {
        "ru": "Обращение {number} закрыто: ответ дан сразу.",
        "kk": "{number} өтініші жабылды: жауап бірден берілді.",
    },
    "console.done.triage": {
        "ru": "сортировка (определит оператор-распределитель)",
        "kk": "сұрыптау (бөлуші оператор анықтайды)",
    },
    "console.error": {"ru": "Не получилось", "kk": "Орындалмады"},
    # --- answered on the spot ------------------------------------------------------------
    "console.quick": {"ru": "Ответ на месте", "kk": "Орнында жауап беру"},
    "console.quick.hint": {
        "ru": "Если вы ответили сразу (справка, адрес, контакты), запишите ответ: обращение "
        "закроется как «ответ дан сразу» и войдёт в долю ответов на месте.",
        "kk": "Бірден жауап берсеңіз (анықтама, мекенжай, байланыс), жауапты жазыңыз: өтініш "
        "«жауап бірден берілді» ретінде жабылып, орнында жауап берілгендер үлесіне кіреді.",
    },
    "console.quick.kb": {
        "ru": "Поиск по базе знаний появится здесь.",
        "kk": "Білім қорынан іздеу осында болады.",
    },
    "console.quick.answer": {
        "ru": "Ответ, данный заявителю",
        "kk": "Өтініш берушіге берілген жауап",
    },
    "console.quick.submit": {
        "ru": "Ответил на месте — закрыть",
        "kk": "Орнында жауап бердім — жабу",
    },
    # --- callback ------------------------------------------------------------------------
    "console.callback": {"ru": "Обратный звонок", "kk": "Кері қоңырау"},
    "console.callback.hint": {
        "ru": "Сначала зазвонит ваш телефон, затем Asterisk наберёт заявителя.",
        "kk": "Алдымен сіздің телефоныңыз шырылдайды, содан соң Asterisk өтініш берушіге қоңырау "
        "шалады.",
    },
    "console.callback.phone": {"ru": "Номер для звонка", "kk": "Қоңырау шалатын нөмір"},
    "console.callback.submit": {"ru": "Перезвонить", "kk": "Қайта қоңырау шалу"},
    "console.callback.appeal": {"ru": "По обращению", "kk": "Өтініш бойынша"},
    "console.callback.no_appeal": {"ru": "— без обращения —", "kk": "— өтінішсіз —"},
    "console.callback.pending": {
        "ru": "Обратный звонок заказан, ждём Asterisk…",
        "kk": "Кері қоңырауға тапсырыс берілді, Asterisk-ті күтудеміз…",
    },
    "console.callback.dialling": {
        "ru": "Звоним: сначала ваш телефон, затем заявителю…",
        "kk": "Қоңырау шалынуда: алдымен сіздің телефоныңызға, содан соң өтініш берушіге…",
    },
    "console.callback.connected": {
        "ru": "Дозвонились: заявитель на линии.",
        "kk": "Қоңырау өтті: өтініш беруші желіде.",
    },
    "console.callback.done": {
        "ru": "Дозвонились, разговор завершён ({seconds} с).",
        "kk": "Қоңырау өтті, сөйлесу аяқталды ({seconds} с).",
    },
    "console.callback.refresh": {"ru": "Обновить", "kk": "Жаңарту"},
    "console.callback.failed": {
        "ru": "Не удалось дозвониться: {reason}",
        "kk": "Қоңырау өтпеді: {reason}",
    },
    "console.callback.reason.expired": {
        "ru": "звонок не был отправлен вовремя (связь с Asterisk не работала)",
        "kk": "қоңырау уақытында жіберілмеді (Asterisk-пен байланыс болмады)",
    },
    "console.callback.reason.no_events": {
        "ru": "Asterisk не сообщил, чем закончился звонок",
        "kk": "Asterisk қоңыраудың немен аяқталғанын хабарламады",
    },
    "console.callback.reason.ami_unavailable": {
        "ru": "нет связи с Asterisk",
        "kk": "Asterisk-пен байланыс жоқ",
    },
    "console.callback.reason.ami_connection_lost": {
        "ru": "связь с Asterisk прервалась, звонок не повторяется — попробуйте ещё раз",
        "kk": "Asterisk-пен байланыс үзілді, қоңырау қайталанбайды — қайта көріңіз",
    },
    "console.callback.reason.no_answer_from_asterisk": {
        "ru": "Asterisk не ответил вовремя",
        "kk": "Asterisk уақытында жауап бермеді",
    },
    "console.callback.reason.originate_failed": {
        "ru": "Asterisk не смог начать звонок",
        "kk": "Asterisk қоңырауды бастай алмады",
    },
    "console.callback.reason.originate_refused": {
        "ru": "Asterisk отклонил запрос на звонок",
        "kk": "Asterisk қоңырау сұрауын қабылдамады",
    },
    "console.callback.reason.operator_hung_up": {
        "ru": "ваш телефон сбросил вызов",
        "kk": "сіздің телефоныңыз қоңырауды тоқтатты",
    },
    "console.callback.reason.operator_no_answer": {
        "ru": "ваш телефон не ответил",
        "kk": "сіздің телефоныңыз жауап бермеді",
    },
    "console.callback.reason.operator_busy": {
        "ru": "ваш телефон занят",
        "kk": "сіздің телефоныңыз бос емес",
    },
    "console.callback.reason.congestion": {
        "ru": "линии перегружены",
        "kk": "желілер шамадан тыс жүктелген",
    },
    "console.callback.reason.dial_busy": {
        "ru": "у заявителя занято",
        "kk": "өтініш берушінің желісі бос емес",
    },
    "console.callback.reason.dial_noanswer": {
        "ru": "заявитель не ответил",
        "kk": "өтініш беруші жауап бермеді",
    },
    "console.callback.reason.dial_congestion": {
        "ru": "линии перегружены",
        "kk": "желілер шамадан тыс жүктелген",
    },
    "console.callback.reason.dial_chanunavail": {
        "ru": "номер заявителя недоступен",
        "kk": "өтініш берушінің нөмірі қолжетімсіз",
    },
    "console.callback.reason.dial_cancel": {
        "ru": "вызов отменён до ответа заявителя",
        "kk": "өтініш беруші жауап бергенге дейін қоңырау тоқтатылды",
    },
    "console.callback.reason.hung_up_before_answer": {
        "ru": "звонок завершился до ответа заявителя",
        "kk": "қоңырау өтініш беруші жауап бергенге дейін аяқталды",
    },
    "console.callback.reason.other": {
        "ru": "причина «{code}»",
        "kk": "себебі «{code}»",
    },
    # --- the citizen's history -----------------------------------------------------------
    "console.history": {"ru": "История заявителя", "kk": "Өтініш берушінің тарихы"},
    "console.history.back": {"ru": "← К консоли", "kk": "← Консольге"},
    "console.history.total": {
        "ru": "Всего обращений: {count}",
        "kk": "Барлық өтініштер: {count}",
    },
    "console.history.channel": {"ru": "Канал", "kk": "Арна"},
    # --- refusals ------------------------------------------------------------------------
    "console.error.unknown_urgency": {
        "ru": "Неизвестная срочность.",
        "kk": "Белгісіз шұғылдық.",
    },
    "console.error.no_sip_interface": {
        "ru": "У вашей учётной записи нет телефона колл-центра (SIP): обратитесь к администратору.",
        "kk": "Есептік жазбаңызда байланыс орталығының телефоны (SIP) жоқ: әкімшіге хабарласыңыз.",
    },
    "console.error.not_kz_number": {
        "ru": "Перезваниваем только на казахстанские номера.",
        "kk": "Тек Қазақстан нөмірлеріне қайта қоңырау шаламыз.",
    },
    "console.error.callback_in_progress": {
        "ru": "Предыдущий обратный звонок ещё набирается.",
        "kk": "Алдыңғы кері қоңырау әлі терілуде.",
    },
    "console.error.callback_not_allowed": {
        "ru": "Обратный звонок доступен только операторам.",
        "kk": "Кері қоңырау тек операторларға қолжетімді.",
    },
    "console.error.csrf": {
        "ru": "Форма устарела: обновите страницу и повторите.",
        "kk": "Нысан ескірді: бетті жаңартып, қайталаңыз.",
    },
}


def _register() -> None:
    clashes = [
        key for key in CONSOLE_TEXTS if TEXTS.get(key, CONSOLE_TEXTS[key]) is not CONSOLE_TEXTS[key]
    ]
    assert not clashes, f"console texts would replace shared ones: {clashes}"
    TEXTS.update(CONSOLE_TEXTS)


_register()
