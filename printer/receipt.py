"""The enrolment receipt: programme, document number, expiry, the one-time revocation code,
what the card is and is not, and contacts, in the resident's language.

Content arrives translated (`ReceiptText` and the programme's own strings); `SAMPLE_TEXTS`
(also named `RECEIPT_TEXTS`: the kiosk prints its receipts with it) holds a set for each of the
kiosk's languages - en, fr, de, it, es, pt, ar, fa, ti, uk, tr, zh - in short, plain sentences
(not yet reviewed by professional translators). Farsi, Tigrinya, Arabic and Chinese are drawn as
images; Turkish and Ukrainian too, unless the printer has a code page for them (CP857 or
CP1254, CP1251; see `printer.paper`). `build_receipt` lays the receipt out for a paper profile
as a `ReceiptLayout`; `printer.escpos_printer.ReceiptPrinter.print_receipt` prints it.

Revocation code: 10 characters from Crockford's base-32 alphabet (no I, L, O, U; 50 bits),
shown as two groups of five. It is printed once, on this receipt, and only its hash goes to
the registry: scrypt (N=2^15, r=8, p=1, 16-byte random salt, 32-byte output; `cardio.codes`) in a
self-describing string. A salted SHA-256 would not do: 2^50 guesses of SHA-256 take about a
day on one GPU, so a leaked registry would give away every code (and with it the power to
revoke anyone's card); scrypt costs ~0.1 s and 32 MiB per guess, which puts 2^50 guesses out
of reach, while the kiosk and registry pay it once per card and once per report. The code
never appears in a repr, a log or on disk; if printing fails after the job was sent, make a
new code (and store its hash instead) rather than reprinting the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cardio import codes
from cardio.errors import CitycardError

from .document import Align, Block, Document, Rule, Style, Text
from .paper import PAPER_80MM, PaperProfile

__all__ = [
    "CODE_ALPHABET",
    "RECEIPT_TEXTS",
    "SAMPLE_CONTACTS",
    "SAMPLE_PROGRAMME_TEXT",
    "SAMPLE_TEXTS",
    "Contact",
    "ReceiptContent",
    "ReceiptLayout",
    "ReceiptText",
    "RevocationCode",
    "RevocationCodeError",
    "build_receipt",
    "sample_content",
    "verify_revocation_code",
]

# The code's format and its hash belong to the issuer (cardio.codes); the receipt only prints it.
CODE_ALPHABET = codes.CROCKFORD
CODE_LENGTH = codes.CODE_LENGTH
_READ_AS = {"O": "0", "I": "1", "L": "1", "U": "V"}  # what people type for look-alikes
LRI, PDI = "\u2066", "\u2069"  # keep numbers, codes and URLs left-to-right in RTL text


class RevocationCodeError(CitycardError):
    """A stored revocation hash that citycard did not write."""


def normalise_code(entered: str) -> str:
    """The canonical form of a typed code: capitals, no spaces or dashes, look-alikes mapped."""
    out = []
    for ch in entered.upper():
        if ch in " -\t":
            continue
        out.append(_READ_AS.get(ch, ch))
    return "".join(out)


@dataclass(frozen=True)
class RevocationCode:
    """A one-time code to print once; `digest` is what the registry stores.

    `str()` and `repr()` never show the code: only `printable` does, for the receipt.
    """

    _value: str = field(repr=False)
    digest: str = field(repr=False)

    @classmethod
    def generate(cls) -> RevocationCode:
        printed = codes.new_revocation_code()
        return cls(normalise_code(printed), codes.hash_code(printed))

    @property
    def printable(self) -> str:
        """The code as printed: two groups of five, e.g. '7KQ2M-XR4PD'."""
        return f"{self._value[:5]}-{self._value[5:]}"

    def __str__(self) -> str:
        return "<revocation code>"


def verify_revocation_code(entered: str, digest: str) -> bool:
    """True when `entered` (as a person types it) is the code whose hash is `digest`."""
    if codes.parse_digest(digest) is None:
        raise RevocationCodeError(
            "This revocation hash was not written by citycard or is damaged: ask city IT to "
            "check the registry."
        )
    return codes.check_code(entered, digest)


@dataclass(frozen=True)
class Contact:
    """One way to reach the programme: a translated label and a value (phone, web, office)."""

    label: str
    value: str


@dataclass(frozen=True)
class ReceiptText:
    """The receipt's own words, translated into one language."""

    title: str
    document_number: str
    valid_until: str
    lost_heading: str
    lost_text: str
    about_heading: str
    contacts_heading: str
    separator: str = ": "  # between a contact label and its value


@dataclass(frozen=True)
class ReceiptContent:
    """Everything printed on one receipt. Nothing here names the resident."""

    programme_name: str
    document_number: str
    expires: date
    revocation_code: RevocationCode
    card_is_and_is_not: str
    contacts: tuple[Contact, ...]
    language: str
    text: ReceiptText


@dataclass(frozen=True)
class ReceiptLayout:
    """A laid-out receipt, ready for `ReceiptPrinter.print_receipt`; holds the code to print."""

    document: Document = field(repr=False)
    revocation_hash: str = field(repr=False)
    language: str
    profile: PaperProfile


def _ltr(value: str) -> str:
    return f"{LRI}{value}{PDI}"


def build_receipt(
    content: ReceiptContent, profile: PaperProfile = PAPER_80MM, *, force_raster: bool = False
) -> ReceiptLayout:
    """Lay out the receipt for the paper width of `profile`.

    Blocks whose characters the printer's code pages hold are printed as text, the others are
    drawn (see `printer.document`); `force_raster` draws everything (for comparisons).
    """
    t = content.text
    body: list[Block] = [
        Text(content.programme_name, Style.HEADING, Align.CENTER),
        Text(t.title, Style.TITLE, Align.CENTER),
        Rule(),
        Text(t.document_number, Style.TITLE),
        Text(_ltr(content.document_number), Style.VALUE),
        Text(t.valid_until, Style.TITLE),
        Text(_ltr(content.expires.isoformat()), Style.VALUE),
        Rule(),
        Text(t.lost_heading, Style.TITLE),
        Text(t.lost_text, Style.BODY),
        Text(content.revocation_code.printable, Style.CODE, Align.CENTER),
        Rule(),
        Text(t.about_heading, Style.TITLE),
        Text(content.card_is_and_is_not, Style.BODY),
        Rule(),
        Text(t.contacts_heading, Style.TITLE),
    ]
    body.extend(
        Text(f"{c.label}{t.separator}{_ltr(c.value)}", Style.SMALL) for c in content.contacts
    )
    document = Document(tuple(body), content.language, force_raster=force_raster)
    return ReceiptLayout(document, content.revocation_code.digest, content.language, profile)


SAMPLE_TEXTS: dict[str, ReceiptText] = {
    "en": ReceiptText(
        title="Enrolment receipt",
        document_number="Document number",
        valid_until="Valid until",
        lost_heading="If your card is lost or stolen",
        lost_text=(
            "Tell us as soon as you can and give this one-time code: we block the card at "
            "once, without asking for your name. The code is printed only here and cannot be "
            "shown again. Keep this receipt apart from your card."
        ),
        about_heading="What this card is - and is not",
        contacts_heading="Contact",
    ),
    "fr": ReceiptText(
        title="Reçu d'inscription",
        document_number="Numéro du document",
        valid_until="Valable jusqu'au",
        lost_heading="Si votre carte est perdue ou volée",
        lost_text=(
            "Signalez-le au plus vite en donnant ce code à usage unique : nous bloquons la "
            "carte aussitôt, sans vous demander votre nom. Le code n'est imprimé qu'ici et ne "
            "peut pas être affiché à nouveau. Gardez ce reçu à part de votre carte."
        ),
        about_heading="Ce qu'est cette carte - et ce qu'elle n'est pas",
        contacts_heading="Contact",
        separator=" : ",
    ),
    "de": ReceiptText(
        title="Anmeldequittung",
        document_number="Dokumentnummer",
        valid_until="Gültig bis",
        lost_heading="Wenn Ihre Karte verloren geht oder gestohlen wird",
        lost_text=(
            "Melden Sie es so bald wie möglich und nennen Sie diesen Einmal-Code: Wir sperren "
            "die Karte sofort, ohne nach Ihrem Namen zu fragen. Der Code steht nur auf dieser "
            "Quittung und kann nicht noch einmal angezeigt werden. Bewahren Sie die Quittung "
            "getrennt von der Karte auf."
        ),
        about_heading="Was diese Karte ist – und was nicht",
        contacts_heading="Kontakt",
    ),
    "ar": ReceiptText(
        title="إيصال التسجيل",
        document_number="رقم الوثيقة",
        valid_until="صالحة حتى",
        lost_heading="إذا ضاعت بطاقتك أو سُرقت",
        lost_text=(
            "أبلغنا في أقرب وقت وأعطنا هذا الرمز الذي يُستخدم مرة واحدة: نوقف البطاقة فورًا "
            "دون أن نسألك عن اسمك. الرمز مطبوع هنا فقط ولا يمكن عرضه مرة أخرى. احتفظ بهذا "
            "الإيصال بعيدًا عن بطاقتك."
        ),
        about_heading="ما هي هذه البطاقة وما ليست",
        contacts_heading="للتواصل",
    ),
    "zh": ReceiptText(
        title="登记回执",
        document_number="证件号码",
        valid_until="有效期至",
        lost_heading="如果您的卡丢失或被盗",
        lost_text=(
            "请尽快告诉我们，并提供这个一次性代码：我们会立即停用该卡，不会询问您的姓名。"
            "此代码只印在这张回执上，无法再次显示。请将回执与卡分开保管。"
        ),
        about_heading="本卡是什么，不是什么",
        contacts_heading="联系方式",
        separator="：",
    ),
    "uk": ReceiptText(
        title="Квитанція про реєстрацію",
        document_number="Номер документа",
        valid_until="Дійсна до",
        lost_heading="Якщо картку загублено або вкрадено",
        lost_text=(
            "Повідомте нас якнайшвидше й назвіть цей одноразовий код: ми одразу заблокуємо "
            "картку, не питаючи вашого імені. Код надруковано лише тут, і його не можна "
            "показати ще раз. Зберігайте цю квитанцію окремо від картки."
        ),
        about_heading="Що ця картка означає - і чого не означає",
        contacts_heading="Контакти",
    ),
    "it": ReceiptText(
        title="Ricevuta di iscrizione",
        document_number="Numero del documento",
        valid_until="Valida fino al",
        lost_heading="Se perde la carta o se gliela rubano",
        lost_text=(
            "Ce lo dica al più presto e ci dia questo codice. Vale una sola volta. Blocchiamo "
            "subito la carta e non le chiediamo il nome. Il codice è stampato solo qui e non "
            "si può mostrare di nuovo. Tenga questa ricevuta lontana dalla carta."
        ),
        about_heading="Che cos'è questa carta - e che cosa non è",
        contacts_heading="Contatti",
    ),
    "es": ReceiptText(
        title="Comprobante de inscripción",
        document_number="Número de documento",
        valid_until="Válida hasta",
        lost_heading="Si pierde su tarjeta o se la roban",
        lost_text=(
            "Avísenos lo antes posible y díganos este código. Solo sirve una vez. Bloqueamos "
            "la tarjeta enseguida y no le pedimos su nombre. El código está impreso solo aquí "
            "y no se puede mostrar otra vez. Guarde este comprobante lejos de su tarjeta."
        ),
        about_heading="Qué es esta tarjeta - y qué no es",
        contacts_heading="Contacto",
    ),
    "pt": ReceiptText(
        title="Comprovativo de inscrição",
        document_number="Número do documento",
        valid_until="Válido até",
        lost_heading="Se perder o cartão ou se o roubarem",
        lost_text=(
            "Avise-nos o mais depressa possível e diga-nos este código. Só serve uma vez. "
            "Bloqueamos o cartão logo e não lhe pedimos o nome. O código está impresso só "
            "aqui e não pode ser mostrado outra vez. Guarde este comprovativo longe do cartão."
        ),
        about_heading="O que este cartão é - e o que não é",
        contacts_heading="Contacto",
    ),
    "fa": ReceiptText(
        title="رسید ثبت‌نام",
        document_number="شمارهٔ سند",
        valid_until="معتبر تا",
        lost_heading="اگر کارت شما گم شد یا دزدیده شد",
        lost_text=(
            "هر چه زودتر به ما خبر دهید و این کد را بگویید. این کد فقط یک بار کار می‌کند. ما "
            "کارت را فوراً مسدود می‌کنیم و نام شما را نمی‌پرسیم. این کد فقط اینجا چاپ شده و "
            "دوباره نشان داده نمی‌شود. این رسید را جدا از کارت نگه دارید."
        ),
        about_heading="این کارت چه هست و چه نیست",
        contacts_heading="تماس",
    ),
    "ti": ReceiptText(
        title="ናይ ምዝገባ ቅብሊት",
        document_number="ቁጽሪ ሰነድ",
        valid_until="ክሳብ ዝሰርሓሉ ዕለት",
        lost_heading="ካርድኩም እንተጠፊኡ ወይ እንተተሰሪቑ",
        lost_text=(
            "ቀልጢፍኩም ንገሩና፣ እዚ ኮድ እዚ ድማ ሃቡና። እዚ ኮድ ሓንሳእ ጥራይ እዩ ዝሰርሕ። ነቲ ካርድ "
            "ብቕጽበት ንዓጽዎ፣ ስምኩም ድማ ኣይንሓተኩምን። እዚ ኮድ ኣብዚ ጥራይ እዩ ተሓቲሙ፣ ደጊሙ ክርአ "
            "ኣይክእልን። ነዚ ቅብሊት ካብ ካርድኩም ፈሊኹም ሓልውዎ።"
        ),
        about_heading="እዚ ካርድ እንታይ እዩ - እንታይ ድማ ኣይኮነን",
        contacts_heading="ርክብ",
    ),
    "tr": ReceiptText(
        title="Kayıt belgesi",
        document_number="Belge numarası",
        valid_until="Geçerlilik tarihi",
        lost_heading="Kartınız kaybolursa veya çalınırsa",
        lost_text=(
            "Bize hemen haber verin ve bu kodu söyleyin. Kod yalnızca bir kez geçerlidir. Kartı "
            "hemen kapatırız ve adınızı sormayız. Kod yalnızca burada yazılıdır ve tekrar "
            "gösterilemez. Bu belgeyi kartınızdan ayrı saklayın."
        ),
        about_heading="Bu kart nedir - ve ne değildir",
        contacts_heading="İletişim",
    ),
}

# The receipt's own words in every kiosk language (the same dict as SAMPLE_TEXTS).
RECEIPT_TEXTS: dict[str, ReceiptText] = SAMPLE_TEXTS

# What a programme profile would supply, translated (samples for tests and the benchmark).
SAMPLE_PROGRAMME_TEXT: dict[str, str] = {
    "en": (
        "This card shows that you live in the city. Use it at libraries, pools, museums and "
        "city offices. It is not a residence permit, not a work permit and not a travel "
        "document. It says nothing about your nationality or residence status."
    ),
    "fr": (
        "Cette carte montre que vous habitez dans la ville. Utilisez-la dans les "
        "bibliothèques, piscines, musées et services de la ville. Ce n'est pas un titre de "
        "séjour, ni un permis de travail, ni un document de voyage. Elle ne dit rien de votre "
        "nationalité ni de votre statut de séjour."
    ),
    "de": (
        "Diese Karte zeigt, dass Sie in der Stadt wohnen. Sie gilt in Bibliotheken, Bädern, "
        "Museen und bei städtischen Stellen. Sie ist keine Aufenthaltsbewilligung, keine "
        "Arbeitsbewilligung und kein Reisedokument. Sie sagt nichts über Ihre "
        "Staatsangehörigkeit oder Ihren Aufenthaltsstatus aus."
    ),
    "ar": (
        "تُثبت هذه البطاقة أنك تسكن في المدينة. استخدمها في المكتبات والمسابح والمتاحف ومكاتب "
        "المدينة. إنها ليست تصريح إقامة ولا تصريح عمل ولا وثيقة سفر، ولا تذكر شيئًا عن جنسيتك "
        "أو وضع إقامتك."
    ),
    "zh": (
        "本卡证明您居住在本市，可在图书馆、游泳池、博物馆和市政办公室使用。本卡不是居留许可，"
        "不是工作许可，也不是旅行证件。本卡不记载您的国籍或居留身份。"
    ),
    "uk": (
        "Ця картка підтверджує, що ви живете в місті. Користуйтеся нею в бібліотеках, "
        "басейнах, музеях і міських установах. Це не посвідка на проживання, не дозвіл на "
        "роботу і не проїзний документ. Вона нічого не каже про ваше громадянство чи статус "
        "перебування."
    ),
    "it": (
        "Questa carta mostra che lei abita in città. La può usare in biblioteche, piscine, "
        "musei e uffici comunali. Non è un permesso di soggiorno. Non è un permesso di lavoro. "
        "Non è un documento di viaggio. Non dice niente sulla sua cittadinanza o sul suo "
        "statuto di soggiorno."
    ),
    "es": (
        "Esta tarjeta muestra que usted vive en la ciudad. Úsela en bibliotecas, piscinas, "
        "museos y oficinas de la ciudad. No es un permiso de residencia. No es un permiso de "
        "trabajo. No es un documento de viaje. No dice nada sobre su nacionalidad ni sobre su "
        "situación de residencia."
    ),
    "pt": (
        "Este cartão mostra que vive na cidade. Use-o em bibliotecas, piscinas, museus e "
        "serviços da cidade. Não é uma autorização de residência. Não é uma autorização de "
        "trabalho. Não é um documento de viagem. Não diz nada sobre a sua nacionalidade nem "
        "sobre a sua situação de residência."
    ),
    "fa": (
        "این کارت نشان می‌دهد که شما در این شهر زندگی می‌کنید. از آن در کتابخانه‌ها، "
        "استخرها، موزه‌ها و اداره‌های شهر استفاده کنید. این کارت اجازهٔ اقامت نیست. اجازهٔ "
        "کار نیست. مدرک سفر نیست. چیزی دربارهٔ ملیت یا وضعیت اقامت شما نمی‌گوید."
    ),
    "ti": (
        "እዚ ካርድ ኣብዛ ከተማ ከም እትቕመጡ የርኢ። ኣብ ቤት መጻሕፍቲ፣ መሐምበሲ፣ ቤት መዘክር ከምኡውን "
        "ቤት ጽሕፈት ከተማ ተጠቐሙሉ። እዚ ካርድ ፍቓድ መንበሪ ኣይኮነን። ፍቓድ ስራሕ ኣይኮነን። ሰነድ "
        "መገሻ ኣይኮነን። ብዛዕባ ዜግነትኩም ወይ ኩነታት መንበሪኹም ዋላ ሓንቲ ኣይገልጽን።"
    ),
    "tr": (
        "Bu kart şehirde yaşadığınızı gösterir. Kütüphanelerde, yüzme havuzlarında, "
        "müzelerde ve belediye bürolarında kullanın. Bu kart oturma izni değildir. Çalışma "
        "izni değildir. Seyahat belgesi değildir. Vatandaşlığınız veya oturum durumunuz "
        "hakkında hiçbir şey söylemez."
    ),
}

SAMPLE_CONTACTS: dict[str, tuple[Contact, ...]] = {
    "en": (
        Contact("Phone", "+41 44 000 00 00"),
        Contact("Web", "https://stadt.example/citycard"),
        Contact("Office", "Stadthaus, room 12, Mon-Fri 8-17"),
    ),
    "fr": (
        Contact("Téléphone", "+41 44 000 00 00"),
        Contact("Site web", "https://stadt.example/citycard"),
        Contact("Guichet", "Stadthaus, bureau 12, lun-ven 8-17 h"),
    ),
    "de": (
        Contact("Telefon", "+41 44 000 00 00"),
        Contact("Web", "https://stadt.example/citycard"),
        Contact("Schalter", "Stadthaus, Büro 12, Mo–Fr 8–17 Uhr"),
    ),
    "ar": (
        Contact("الهاتف", "+41 44 000 00 00"),
        Contact("الموقع", "https://stadt.example/citycard"),
        Contact("المكتب", "Stadthaus, 12"),
    ),
    "zh": (
        Contact("电话", "+41 44 000 00 00"),
        Contact("网站", "https://stadt.example/citycard"),
        Contact("办公地点", "Stadthaus 12 号房间，周一至周五 8–17 时"),
    ),
    "uk": (
        Contact("Телефон", "+41 44 000 00 00"),
        Contact("Сайт", "https://stadt.example/citycard"),
        Contact("Приймальня", "Stadthaus, кімната 12, пн–пт 8–17"),
    ),
    "it": (
        Contact("Telefono", "+41 44 000 00 00"),
        Contact("Sito web", "https://stadt.example/citycard"),
        Contact("Sportello", "Stadthaus, ufficio 12, lun-ven 8-17"),
    ),
    "es": (
        Contact("Teléfono", "+41 44 000 00 00"),
        Contact("Web", "https://stadt.example/citycard"),
        Contact("Oficina", "Stadthaus, sala 12, lun-vie 8-17 h"),
    ),
    "pt": (
        Contact("Telefone", "+41 44 000 00 00"),
        Contact("Site", "https://stadt.example/citycard"),
        Contact("Balcão", "Stadthaus, sala 12, seg-sex 8-17 h"),
    ),
    "fa": (
        Contact("تلفن", "+41 44 000 00 00"),
        Contact("وب‌سایت", "https://stadt.example/citycard"),
        Contact("دفتر", "Stadthaus, 12"),
    ),
    "ti": (
        Contact("ተሌፎን", "+41 44 000 00 00"),
        Contact("መርበብ", "https://stadt.example/citycard"),
        Contact("ቤት ጽሕፈት", "Stadthaus, 12"),
    ),
    "tr": (
        Contact("Telefon", "+41 44 000 00 00"),
        Contact("Web", "https://stadt.example/citycard"),
        Contact("Büro", "Stadthaus, oda 12, Pzt-Cum 8-17"),
    ),
}


def sample_content(
    language: str,
    code: RevocationCode | None = None,
    *,
    programme_name: str = "Züri City Card",
    document_number: str = "ZH-2026-000123",
    expires: date = date(2031, 9, 21),
) -> ReceiptContent:
    """A receipt in one of the kiosk's languages (the keys of `SAMPLE_TEXTS`)."""
    return ReceiptContent(
        programme_name=programme_name,
        document_number=document_number,
        expires=expires,
        revocation_code=code or RevocationCode.generate(),
        card_is_and_is_not=SAMPLE_PROGRAMME_TEXT[language],
        contacts=SAMPLE_CONTACTS[language],
        language=language,
        text=SAMPLE_TEXTS[language],
    )
