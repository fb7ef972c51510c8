"""Sample receipts for the tests and the benchmark: the receipt's own words from the kiosk's
catalogues (`kiosk.printing.receipt_text`), the programme's words as a profile would give them.
"""

from __future__ import annotations

from datetime import date

from kiosk.i18n import shared_catalogues
from kiosk.printing import receipt_text
from printer.receipt import Contact, ReceiptContent, RevocationCode

# What a programme profile would supply, translated (samples for tests and the benchmark).
_WRITTEN_PROGRAMME_TEXT: dict[str, str] = {
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

_WRITTEN_CONTACTS: dict[str, tuple[Contact, ...]] = {
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


class _FromCatalogues(dict[str, str]):
    """The hand-written samples above; any other kiosk language says what the kiosk's own
    receipt says (its catalogue), so a new language needs no sample written here."""

    def __missing__(self, language: str) -> str:
        t = shared_catalogues().get(language)
        return " ".join(
            t.gettext(m) for m in ("It is not a residence permit.", "It does not change your legal status.")
        )


class _ContactsFromCatalogues(dict[str, tuple[Contact, ...]]):
    def __missing__(self, language: str) -> tuple[Contact, ...]:
        english = self["en"]
        labels = ("Phone", "Web", "Office")
        t = shared_catalogues().get(language)
        return tuple(
            Contact(t.pgettext("receipt", label), c.value) for label, c in zip(labels, english, strict=True)
        )


SAMPLE_PROGRAMME_TEXT = _FromCatalogues(_WRITTEN_PROGRAMME_TEXT)
SAMPLE_CONTACTS = _ContactsFromCatalogues(_WRITTEN_CONTACTS)


def sample_content(
    language: str,
    code: RevocationCode | None = None,
    *,
    programme_name: str = "Züri City Card",
    document_number: str = "ZH-2026-000123",
    expires: date = date(2031, 9, 21),
) -> ReceiptContent:
    """A receipt in one of the kiosk's languages (the keys of `SAMPLE_PROGRAMME_TEXT`)."""
    return ReceiptContent(
        programme_name=programme_name,
        document_number=document_number,
        expires=expires,
        revocation_code=code or RevocationCode.generate(),
        card_is_and_is_not=SAMPLE_PROGRAMME_TEXT[language],
        contacts=SAMPLE_CONTACTS[language],
        language=language,
        text=receipt_text(language),
    )
