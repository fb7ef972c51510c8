"""Texts of the rules engine's reasons: message ids, English source strings, translations.

`MESSAGES` maps every message id to its English source string (the gettext msgid the kiosk UI
puts into its catalogues); `TRANSLATIONS[language]` holds the same ids, complete for French,
German, Spanish and Arabic. Templates use `str.format` placeholders named after the reason's
parameters. Labels are messages too: `field.<code>` for every field of
`kiosk.programs.FIELDS` and `claim.<code>` for fee reductions; document names come from the
programme profile itself (`documents.<code>.names`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .programs import FIELDS, best_language

if TYPE_CHECKING:
    from .programs import Program

__all__ = ["LANGUAGES", "MESSAGES", "TRANSLATIONS", "render"]

MESSAGES: dict[str, str] = {
    "outcome.eligible": "You can get this card.",
    "outcome.needs_attendant": "An attendant will look at your application before your card is made.",
    "outcome.refused": "This card cannot be made with this application.",
    "birth_date.invalid": "The birth date {birth_date} is not possible. Please check it.",
    "age.too_young": "You must be at least {age} years old to get this card.",
    "age.too_young_with_guardian": "You must be at least {age} years old to get this card, even with a parent or guardian.",
    "age.needs_guardian": "If you are under {age}, please come with a parent or guardian.",
    "age.with_guardian": "You are under {age}: your parent or guardian applies with you.",
    "age.guardian_attendant": "You are under {age}: an attendant will check the documents of your parent or guardian.",
    "residence.too_short": "You must have lived in the city for at least {days} days. You can apply from {date}.",
    "residence.unknown": "You must have lived in the city for at least {days} days. An attendant will ask you since when you have lived here.",
    "field.forbidden": "Please leave this out: {field}. This card must not show it.",
    "field.not_collected": "Please leave this out: {field}. This card does not ask for it.",
    "documents.identity_points": "Points from your identity documents: {points}; {required} are needed.",
    "documents.residence_points": "Points from your proof of address: {points}; {required} are needed.",
    "documents.total_points": "Points from all your documents: {points}; {required} are needed.",
    "documents.no_photo": "One of your identity documents must show your photo.",
    "documents.no_birth_date": "One of your identity documents must show your birth date.",
    "documents.primary_or_secondary": "Please show one main identity document (such as a passport), or other identity documents: {count} are needed.",
    "documents.identity_count": "Identity documents needed: {required}. Shown: {count}.",
    "documents.residence_count": "Proofs of address needed: {required}. Shown: {count}.",
    "documents.eligibility_count": "Documents needed to join this programme: {required}. Shown: {count}.",
    "documents.too_old": "“{document}” is dated {date}; proof of address must be dated {oldest} or later.",
    "documents.bad_date": "“{document}” has a date in the future ({date}). Please check it.",
    "documents.unknown": "“{document}” is not on this programme's list of documents; an attendant can tell you whether it is accepted.",
    "documents.attendant": "An attendant can look at other proof, such as a letter from a shelter or an association.",
    "documents.refused": "The documents shown are not enough for this card.",
    "check.document_date": "The attendant checks that “{document}” is dated {oldest} or later.",
    "check.document": "The attendant checks “{document}”.",
    "check.low_income": "The attendant checks your proof of low income for the reduced fee.",
    "fee.free": "This card is free.",
    "fee.standard": "The fee is {fee}.",
    "fee.reduced": "The fee is {fee} instead of {standard} ({reduction}).",
    "fee.claim_not_applicable": "The reduced fee ({reduction}) does not apply to this card.",
    "validity.expires": "The card will be valid until {date}.",
    "validity.under_age": "Cards for people under {age} are valid for a shorter time.",
    "claim.child": "children",
    "claim.senior": "seniors",
    "claim.low_income": "low income",
    **{f"field.{code}": label for code, label in FIELDS.items()},
}

_FR: dict[str, str] = {
    "outcome.eligible": "Vous pouvez obtenir cette carte.",
    "outcome.needs_attendant": "Une personne de l'accueil examinera votre demande avant que votre carte soit fabriquée.",
    "outcome.refused": "Cette carte ne peut pas être fabriquée avec cette demande.",
    "birth_date.invalid": "La date de naissance {birth_date} n'est pas possible. Merci de la vérifier.",
    "age.too_young": "Il faut avoir au moins {age} ans pour obtenir cette carte.",
    "age.too_young_with_guardian": "Il faut avoir au moins {age} ans pour obtenir cette carte, même avec un parent ou un tuteur.",
    "age.needs_guardian": "Si vous avez moins de {age} ans, venez avec un parent ou un tuteur.",
    "age.with_guardian": "Vous avez moins de {age} ans : votre parent ou tuteur fait la demande avec vous.",
    "age.guardian_attendant": "Vous avez moins de {age} ans : une personne de l'accueil vérifiera les documents de votre parent ou tuteur.",
    "residence.too_short": "Il faut habiter dans la ville depuis au moins {days} jours. Vous pourrez faire la demande à partir du {date}.",
    "residence.unknown": "Il faut habiter dans la ville depuis au moins {days} jours. Une personne de l'accueil vous demandera depuis quand vous habitez ici.",
    "field.forbidden": "Ne donnez pas cette information : {field}. Cette carte ne doit pas l'indiquer.",
    "field.not_collected": "Ne donnez pas cette information : {field}. Cette carte ne la demande pas.",
    "documents.identity_points": "Points de vos pièces d'identité : {points} ; il en faut {required}.",
    "documents.residence_points": "Points de vos justificatifs de domicile : {points} ; il en faut {required}.",
    "documents.total_points": "Points de tous vos documents : {points} ; il en faut {required}.",
    "documents.no_photo": "Une de vos pièces d'identité doit porter votre photo.",
    "documents.no_birth_date": "Une de vos pièces d'identité doit indiquer votre date de naissance.",
    "documents.primary_or_secondary": "Montrez une pièce d'identité principale (par exemple un passeport) ou d'autres pièces d'identité : il en faut {count}.",
    "documents.identity_count": "Pièces d'identité nécessaires : {required}. Montrées : {count}.",
    "documents.residence_count": "Justificatifs de domicile nécessaires : {required}. Montrés : {count}.",
    "documents.eligibility_count": "Justificatifs nécessaires pour ce dispositif : {required}. Montrés : {count}.",
    "documents.too_old": "Le document « {document} » est daté du {date} ; un justificatif de domicile doit dater du {oldest} ou après.",
    "documents.bad_date": "Le document « {document} » porte une date future ({date}). Merci de la vérifier.",
    "documents.unknown": "Le document « {document} » n'est pas dans la liste de ce dispositif ; une personne de l'accueil vous dira s'il est accepté.",
    "documents.attendant": "Une personne de l'accueil peut examiner d'autres preuves, par exemple une lettre d'un foyer ou d'une association.",
    "documents.refused": "Les documents montrés ne suffisent pas pour cette carte.",
    "check.document_date": "La personne de l'accueil vérifie que le document « {document} » date du {oldest} ou après.",
    "check.document": "La personne de l'accueil vérifie le document « {document} ».",
    "check.low_income": "La personne de l'accueil vérifie votre justificatif de faibles revenus pour le tarif réduit.",
    "fee.free": "Cette carte est gratuite.",
    "fee.standard": "Le tarif est de {fee}.",
    "fee.reduced": "Le tarif est de {fee} au lieu de {standard} ({reduction}).",
    "fee.claim_not_applicable": "Le tarif réduit ({reduction}) ne s'applique pas à cette carte.",
    "validity.expires": "La carte sera valable jusqu'au {date}.",
    "validity.under_age": "Les cartes des moins de {age} ans sont valables moins longtemps.",
    "claim.child": "enfants",
    "claim.senior": "seniors",
    "claim.low_income": "faibles revenus",
    "field.family_name": "nom de famille",
    "field.given_name": "prénom",
    "field.birth_date": "date de naissance",
    "field.photo": "photo",
    "field.signature": "signature",
    "field.sex": "sexe",
    "field.address": "adresse",
    "field.emergency_contact": "contact en cas d'urgence",
    "field.medical_info": "problèmes de santé et allergies",
    "field.eye_colour": "couleur des yeux",
    "field.hair_colour": "couleur des cheveux",
    "field.height": "taille",
    "field.weight": "poids",
    "field.organ_donor": "don d'organes",
    "field.veteran": "ancien combattant",
    "field.preferred_language": "langue préférée",
    "field.sponsor": "nom et contact du parrain ou de la marraine",
    "field.integration_evidence": "preuves d'intégration",
}

_DE: dict[str, str] = {
    "outcome.eligible": "Sie können diese Karte erhalten.",
    "outcome.needs_attendant": "Eine Mitarbeiterin oder ein Mitarbeiter prüft Ihren Antrag, bevor Ihre Karte hergestellt wird.",
    "outcome.refused": "Mit diesem Antrag kann diese Karte nicht hergestellt werden.",
    "birth_date.invalid": "Das Geburtsdatum {birth_date} ist nicht möglich. Bitte prüfen Sie es.",
    "age.too_young": "Für diese Karte müssen Sie mindestens {age} Jahre alt sein.",
    "age.too_young_with_guardian": "Für diese Karte müssen Sie mindestens {age} Jahre alt sein, auch mit einem Elternteil oder einer erziehungsberechtigten Person.",
    "age.needs_guardian": "Wenn Sie jünger als {age} sind, kommen Sie bitte mit einem Elternteil oder einer erziehungsberechtigten Person.",
    "age.with_guardian": "Sie sind jünger als {age}: Ein Elternteil oder eine erziehungsberechtigte Person stellt den Antrag mit Ihnen.",
    "age.guardian_attendant": "Sie sind jünger als {age}: Eine Mitarbeiterin oder ein Mitarbeiter prüft die Dokumente Ihres Elternteils oder Ihrer erziehungsberechtigten Person.",
    "residence.too_short": "Sie müssen seit mindestens {days} Tagen in der Stadt wohnen. Sie können ab dem {date} einen Antrag stellen.",
    "residence.unknown": "Sie müssen seit mindestens {days} Tagen in der Stadt wohnen. Eine Mitarbeiterin oder ein Mitarbeiter fragt Sie, seit wann Sie hier wohnen.",
    "field.forbidden": "Bitte weglassen: {field}. Diese Karte darf diese Angabe nicht zeigen.",
    "field.not_collected": "Bitte weglassen: {field}. Diese Karte fragt nicht danach.",
    "documents.identity_points": "Punkte aus Ihren Identitätsdokumenten: {points}; nötig sind {required}.",
    "documents.residence_points": "Punkte aus Ihren Wohnnachweisen: {points}; nötig sind {required}.",
    "documents.total_points": "Punkte aus allen Ihren Dokumenten: {points}; nötig sind {required}.",
    "documents.no_photo": "Eines Ihrer Identitätsdokumente muss Ihr Foto zeigen.",
    "documents.no_birth_date": "Eines Ihrer Identitätsdokumente muss Ihr Geburtsdatum zeigen.",
    "documents.primary_or_secondary": "Bitte zeigen Sie ein Hauptdokument (zum Beispiel einen Reisepass) oder andere Identitätsdokumente: nötig sind {count}.",
    "documents.identity_count": "Nötige Identitätsdokumente: {required}. Gezeigt: {count}.",
    "documents.residence_count": "Nötige Wohnnachweise: {required}. Gezeigt: {count}.",
    "documents.eligibility_count": "Nötige Nachweise für dieses Programm: {required}. Gezeigt: {count}.",
    "documents.too_old": "„{document}“ ist vom {date}; ein Wohnnachweis muss vom {oldest} oder später sein.",
    "documents.bad_date": "„{document}“ hat ein Datum in der Zukunft ({date}). Bitte prüfen Sie es.",
    "documents.unknown": "„{document}“ steht nicht auf der Dokumentenliste dieses Programms; eine Mitarbeiterin oder ein Mitarbeiter sagt Ihnen, ob es angenommen wird.",
    "documents.attendant": "Eine Mitarbeiterin oder ein Mitarbeiter kann andere Nachweise prüfen, zum Beispiel einen Brief einer Notunterkunft oder eines Vereins.",
    "documents.refused": "Die gezeigten Dokumente reichen für diese Karte nicht aus.",
    "check.document_date": "Die Mitarbeiterin oder der Mitarbeiter prüft, dass „{document}“ vom {oldest} oder später ist.",
    "check.document": "Die Mitarbeiterin oder der Mitarbeiter prüft „{document}“.",
    "check.low_income": "Die Mitarbeiterin oder der Mitarbeiter prüft Ihren Nachweis über ein geringes Einkommen für die ermäßigte Gebühr.",
    "fee.free": "Diese Karte ist kostenlos.",
    "fee.standard": "Die Gebühr beträgt {fee}.",
    "fee.reduced": "Die Gebühr beträgt {fee} statt {standard} ({reduction}).",
    "fee.claim_not_applicable": "Die Ermäßigung ({reduction}) gilt für diese Karte nicht.",
    "validity.expires": "Die Karte ist gültig bis {date}.",
    "validity.under_age": "Karten für Personen unter {age} Jahren sind kürzer gültig.",
    "claim.child": "Kinder",
    "claim.senior": "Seniorinnen und Senioren",
    "claim.low_income": "geringes Einkommen",
    "field.family_name": "Familienname",
    "field.given_name": "Vorname",
    "field.birth_date": "Geburtsdatum",
    "field.photo": "Foto",
    "field.signature": "Unterschrift",
    "field.sex": "Geschlecht",
    "field.address": "Adresse",
    "field.emergency_contact": "Notfallkontakt",
    "field.medical_info": "Krankheiten und Allergien",
    "field.eye_colour": "Augenfarbe",
    "field.hair_colour": "Haarfarbe",
    "field.height": "Körpergröße",
    "field.weight": "Gewicht",
    "field.organ_donor": "Organspende",
    "field.veteran": "Veteranin oder Veteran",
    "field.preferred_language": "bevorzugte Sprache",
    "field.sponsor": "Name und Kontakt der Patin oder des Paten",
    "field.integration_evidence": "Nachweise der Integration",
}

_ES: dict[str, str] = {
    "outcome.eligible": "Puede obtener esta tarjeta.",
    "outcome.needs_attendant": "Una persona del personal revisará su solicitud antes de hacer su tarjeta.",
    "outcome.refused": "No se puede hacer esta tarjeta con esta solicitud.",
    "birth_date.invalid": "La fecha de nacimiento {birth_date} no es posible. Por favor, revísela.",
    "age.too_young": "Debe tener al menos {age} años para obtener esta tarjeta.",
    "age.too_young_with_guardian": "Debe tener al menos {age} años para obtener esta tarjeta, incluso con su madre, padre o tutor.",
    "age.needs_guardian": "Si tiene menos de {age} años, venga con su madre, padre o tutor.",
    "age.with_guardian": "Tiene menos de {age} años: su madre, padre o tutor hace la solicitud con usted.",
    "age.guardian_attendant": "Tiene menos de {age} años: una persona del personal revisará los documentos de su madre, padre o tutor.",
    "residence.too_short": "Debe vivir en la ciudad desde hace al menos {days} días. Puede presentar la solicitud a partir del {date}.",
    "residence.unknown": "Debe vivir en la ciudad desde hace al menos {days} días. Una persona del personal le preguntará desde cuándo vive aquí.",
    "field.forbidden": "No indique este dato: {field}. Esta tarjeta no debe mostrarlo.",
    "field.not_collected": "No indique este dato: {field}. Esta tarjeta no lo pide.",
    "documents.identity_points": "Puntos de sus documentos de identidad: {points}; se necesitan {required}.",
    "documents.residence_points": "Puntos de sus comprobantes de domicilio: {points}; se necesitan {required}.",
    "documents.total_points": "Puntos de todos sus documentos: {points}; se necesitan {required}.",
    "documents.no_photo": "Uno de sus documentos de identidad debe mostrar su foto.",
    "documents.no_birth_date": "Uno de sus documentos de identidad debe mostrar su fecha de nacimiento.",
    "documents.primary_or_secondary": "Muestre un documento de identidad principal (por ejemplo, un pasaporte) u otros documentos de identidad: se necesitan {count}.",
    "documents.identity_count": "Documentos de identidad necesarios: {required}. Mostrados: {count}.",
    "documents.residence_count": "Comprobantes de domicilio necesarios: {required}. Mostrados: {count}.",
    "documents.eligibility_count": "Documentos necesarios para este programa: {required}. Mostrados: {count}.",
    "documents.too_old": "El documento «{document}» tiene fecha {date}; un comprobante de domicilio debe tener fecha {oldest} o posterior.",
    "documents.bad_date": "El documento «{document}» tiene una fecha futura ({date}). Por favor, revísela.",
    "documents.unknown": "El documento «{document}» no está en la lista de este programa; una persona del personal le dirá si se acepta.",
    "documents.attendant": "Una persona del personal puede revisar otras pruebas, como una carta de un albergue o de una asociación.",
    "documents.refused": "Los documentos mostrados no son suficientes para esta tarjeta.",
    "check.document_date": "El personal comprueba que el documento «{document}» tenga fecha {oldest} o posterior.",
    "check.document": "El personal revisa el documento «{document}».",
    "check.low_income": "El personal revisa su comprobante de bajos ingresos para la tarifa reducida.",
    "fee.free": "Esta tarjeta es gratuita.",
    "fee.standard": "La tarifa es de {fee}.",
    "fee.reduced": "La tarifa es de {fee} en lugar de {standard} ({reduction}).",
    "fee.claim_not_applicable": "La tarifa reducida ({reduction}) no se aplica a esta tarjeta.",
    "validity.expires": "La tarjeta será válida hasta el {date}.",
    "validity.under_age": "Las tarjetas para menores de {age} años son válidas por menos tiempo.",
    "claim.child": "niñas y niños",
    "claim.senior": "personas mayores",
    "claim.low_income": "bajos ingresos",
    "field.family_name": "apellidos",
    "field.given_name": "nombre",
    "field.birth_date": "fecha de nacimiento",
    "field.photo": "foto",
    "field.signature": "firma",
    "field.sex": "sexo",
    "field.address": "dirección",
    "field.emergency_contact": "contacto de emergencia",
    "field.medical_info": "enfermedades y alergias",
    "field.eye_colour": "color de ojos",
    "field.hair_colour": "color de pelo",
    "field.height": "estatura",
    "field.weight": "peso",
    "field.organ_donor": "donante de órganos",
    "field.veteran": "veterano o veterana",
    "field.preferred_language": "idioma preferido",
    "field.sponsor": "nombre y contacto de la persona madrina o padrina",
    "field.integration_evidence": "pruebas de integración",
}

_AR: dict[str, str] = {
    "outcome.eligible": "يمكنك الحصول على هذه البطاقة.",
    "outcome.needs_attendant": "سيراجع أحد الموظفين طلبك قبل إصدار بطاقتك.",
    "outcome.refused": "لا يمكن إصدار هذه البطاقة بهذا الطلب.",
    "birth_date.invalid": "تاريخ الميلاد {birth_date} غير ممكن. يرجى التحقق منه.",
    "age.too_young": "يجب أن يكون عمرك {age} سنة على الأقل للحصول على هذه البطاقة.",
    "age.too_young_with_guardian": "يجب أن يكون عمرك {age} سنة على الأقل للحصول على هذه البطاقة، حتى مع أحد الوالدين أو الوصي.",
    "age.needs_guardian": "إذا كان عمرك أقل من {age} سنة، يرجى الحضور مع أحد الوالدين أو الوصي.",
    "age.with_guardian": "عمرك أقل من {age} سنة: يقدّم أحد والديك أو وصيّك الطلب معك.",
    "age.guardian_attendant": "عمرك أقل من {age} سنة: سيتحقق أحد الموظفين من وثائق والدك أو وصيّك.",
    "residence.too_short": "يجب أن تكون قد أقمت في المدينة {days} يومًا على الأقل. يمكنك التقديم ابتداءً من {date}.",
    "residence.unknown": "يجب أن تكون قد أقمت في المدينة {days} يومًا على الأقل. سيسألك أحد الموظفين منذ متى تقيم هنا.",
    "field.forbidden": "يرجى عدم إدخال: {field}. يجب ألا تظهر هذه المعلومة على هذه البطاقة.",
    "field.not_collected": "يرجى عدم إدخال: {field}. هذه البطاقة لا تطلب هذه المعلومة.",
    "documents.identity_points": "النقاط من وثائق هويتك: {points}؛ المطلوب: {required}.",
    "documents.residence_points": "النقاط من إثبات عنوانك: {points}؛ المطلوب: {required}.",
    "documents.total_points": "مجموع النقاط من كل وثائقك: {points}؛ المطلوب: {required}.",
    "documents.no_photo": "يجب أن تحمل إحدى وثائق هويتك صورتك.",
    "documents.no_birth_date": "يجب أن تُظهر إحدى وثائق هويتك تاريخ ميلادك.",
    "documents.primary_or_secondary": "يرجى تقديم وثيقة هوية رئيسية واحدة (مثل جواز السفر)، أو وثائق هوية أخرى: العدد المطلوب {count}.",
    "documents.identity_count": "وثائق الهوية المطلوبة: {required}. المقدَّمة: {count}.",
    "documents.residence_count": "إثباتات العنوان المطلوبة: {required}. المقدَّمة: {count}.",
    "documents.eligibility_count": "الوثائق المطلوبة للانضمام إلى هذا البرنامج: {required}. المقدَّمة: {count}.",
    "documents.too_old": "تاريخ الوثيقة «{document}» هو {date}؛ يجب أن يكون إثبات العنوان بتاريخ {oldest} أو بعده.",
    "documents.bad_date": "تاريخ الوثيقة «{document}» في المستقبل ({date}). يرجى التحقق منه.",
    "documents.unknown": "الوثيقة «{document}» ليست في قائمة وثائق هذا البرنامج؛ يمكن لأحد الموظفين أن يخبرك إن كانت مقبولة.",
    "documents.attendant": "يمكن لأحد الموظفين النظر في إثباتات أخرى، مثل رسالة من مأوى أو من جمعية.",
    "documents.refused": "الوثائق المقدَّمة غير كافية لهذه البطاقة.",
    "check.document_date": "يتحقق الموظف من أن تاريخ الوثيقة «{document}» هو {oldest} أو بعده.",
    "check.document": "يتحقق الموظف من الوثيقة «{document}».",
    "check.low_income": "يتحقق الموظف من إثبات دخلك المنخفض للحصول على الرسم المخفَّض.",
    "fee.free": "هذه البطاقة مجانية.",
    "fee.standard": "الرسم: {fee}.",
    "fee.reduced": "الرسم: {fee} بدلًا من {standard} ({reduction}).",
    "fee.claim_not_applicable": "الرسم المخفَّض ({reduction}) لا ينطبق على هذه البطاقة.",
    "validity.expires": "ستكون البطاقة صالحة حتى {date}.",
    "validity.under_age": "البطاقات للأشخاص دون سن {age} صالحة لمدة أقصر.",
    "claim.child": "الأطفال",
    "claim.senior": "كبار السن",
    "claim.low_income": "الدخل المنخفض",
    "field.family_name": "اسم العائلة",
    "field.given_name": "الاسم الشخصي",
    "field.birth_date": "تاريخ الميلاد",
    "field.photo": "الصورة",
    "field.signature": "التوقيع",
    "field.sex": "الجنس",
    "field.address": "العنوان",
    "field.emergency_contact": "جهة الاتصال في حالات الطوارئ",
    "field.medical_info": "الحالات الطبية والحساسية",
    "field.eye_colour": "لون العينين",
    "field.hair_colour": "لون الشعر",
    "field.height": "الطول",
    "field.weight": "الوزن",
    "field.organ_donor": "التبرع بالأعضاء",
    "field.veteran": "محارب قديم",
    "field.preferred_language": "اللغة المفضلة",
    "field.sponsor": "اسم الشخص الراعي ووسيلة الاتصال به",
    "field.integration_evidence": "إثباتات الاندماج",
}

TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": MESSAGES,
    "fr": _FR,
    "de": _DE,
    "es": _ES,
    "ar": _AR,
}
LANGUAGES = tuple(TRANSLATIONS)  # complete catalogues; others fall back to English

# Parameters whose values are codes, rendered through a label.
_LABELLED = {"field": "field.", "reduction": "claim."}


def _catalogue(language: str) -> dict[str, str]:
    lang = best_language(language, TRANSLATIONS) or "en"
    return TRANSLATIONS[lang]


def _label(catalogue: Mapping[str, str], key: str, code: str) -> str:
    return catalogue.get(key) or MESSAGES.get(key) or code.replace("_", " ")


def render(
    message_id: str, params: Mapping[str, str], language: str, program: Program | None = None
) -> str:
    """The sentence for `message_id` in `language` (English when missing), params filled in."""
    catalogue = _catalogue(language)
    template = catalogue.get(message_id) or MESSAGES.get(message_id) or message_id
    values = dict(params)
    for name, prefix in _LABELLED.items():
        if name in values:
            values[name] = _label(catalogue, prefix + values[name], values[name])
    if "document" in values and program is not None:
        doc = program.document(values["document"])
        if doc is not None:
            values["document"] = doc.names.get(language)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return MESSAGES.get(message_id, message_id)
