"""Message ids the UI uses from Python (translated on display; extracted by `N_`)."""

from __future__ import annotations

from collections.abc import Mapping

from ..i18n import N_

# Notices shown once on the start page.
TIMED_OUT = N_("Nobody used the kiosk for a while, so we deleted everything you entered.")
SESSION_ENDED = N_("This session has ended and nothing was kept. Please start again.")
CANCELLED = N_("Everything you entered is deleted.")
STALE_PAGE = N_("This page was out of date. Please try again.")
APPROVE_AGAIN = N_(
    "Your details changed after the attendant approved them, so the attendant must approve "
    "them again."
)

# The page shown when the kiosk holds as many visits in progress as it can.
SESSIONS_FULL_TITLE = N_("The kiosk is busy")
SESSIONS_FULL = N_("The kiosk cannot start a new visit right now. Please wait a few minutes and try again.")

# Field labels by application key (programme profiles name their fields with these keys).
FIELD_LABELS: Mapping[str, str] = {
    "family_name": N_("Family name"),
    "given_name": N_("Given name"),
    "sex": N_("Sex"),
    "address": N_("Address"),
    "emergency_contact": N_("Emergency contact"),
    "medical_info": N_("Medical conditions or allergies"),
    "eye_colour": N_("Eye colour"),
    "hair_colour": N_("Hair colour"),
    "height": N_("Height (cm)"),
    "weight": N_("Weight (kg)"),
    "organ_donor": N_("Organ donor"),
    "veteran": N_("Veteran"),
    "preferred_language": N_("Language you prefer"),
    "sponsor": N_("Your sponsor: name and phone number"),
    "integration_evidence": N_("Proof of integration (for example a language course)"),
}
FIELD_HINTS: Mapping[str, str] = {
    "family_name": N_("As you want it on the card. Any alphabet."),
    "given_name": N_("As you want it on the card. Any alphabet."),
    "address": N_("Where you live or get post. A shelter or an association is fine."),
    "emergency_contact": N_("A name and a phone number."),
    "medical_info": N_("Only if you want it on the card."),
}
CHOICE_LABELS: Mapping[str, str] = {
    "F": N_("Female"),
    "M": N_("Male"),
    "X": N_("X (another gender)"),
    "brown": N_("Brown"),
    "blue": N_("Blue"),
    "green": N_("Green"),
    "grey": N_("Grey"),
    "hazel": N_("Hazel"),
    "black": N_("Black"),
    "blond": N_("Blond"),
    "red": N_("Red"),
    "white": N_("White"),
    "bald": N_("Bald"),
    "other": N_("Other"),
    "yes": N_("Yes"),
    "no": N_("No"),
}
NOT_SAID = N_("I prefer not to say")
LIVED_DAYS = N_("Have you lived in this city for %(days)s days or more?")
LIVED_MONTHS = N_("Have you lived in this city for %(months)s months or more?")
UNSURE = N_("I am not sure")

# Headings of the document checklist, by what a document proves.
DOCUMENT_GROUPS: Mapping[str, str] = {
    "identity": N_("To show who you are"),
    "residence": N_("To show that you live here"),
    "eligibility": N_("Other proof"),
}
LOW_INCOME = N_("I have a low income")

# Why a photo cannot be used, by the photo pipeline's reason code.
PHOTO_REASONS: Mapping[str, str] = {
    "not_image": N_("This file is not a photo we can read. Please use a JPEG or PNG photo."),
    "animated": N_("This picture moves. Please use a still photo."),
    "too_large": N_("This file is too big. Please use a smaller photo."),
    # Translators: %(megapixels)s is a whole number, such as 40.
    "too_many_pixels": N_(
        "This photo has too many pixels: at most %(megapixels)s megapixels. Please use a smaller photo."
    ),
    "too_small": N_("This photo is too small. Please take a new photo with the camera."),
    "not_portrait": N_("This photo is too wide. Please face the camera, with your face in the middle."),
    "too_dark": N_("This photo is too dark. Please face the light and try again."),
    "too_bright": N_("This photo is too bright. Please move away from strong light and try again."),
    "no_face": N_("We cannot see a face in this photo. Please look straight at the camera and try again."),
    "several_faces": N_("There is more than one person in this photo. Please make sure only you are in it."),
    "too_detailed": N_("This photo has too much detail. Please stand in front of a plain wall."),
    "photo": N_("We cannot use this photo. Please try another one."),
}

# Field and form errors.
CHOOSE_ONE = N_("Please choose one.")
NUMBER_RANGE = N_("Please write a number from %(low)s to %(high)s.")
NO_PHOTO = N_("Please take a photo or choose a photo file.")
PHOTO_TOO_BIG = N_("This file is too big. Please use a smaller photo.")
PHOTO_UNUSABLE = N_("We cannot use this photo. Please try another one.")
NO_SIGNATURE = N_("Please sign in the box, or choose “I cannot sign”.")
BAD_SIGNATURE = N_("We could not read your signature. Please sign again.")
SHOW_DOCUMENTS = N_(
    "Please show your documents to the attendant. The attendant checks them and gives them back."
)
PAPER_NEAR_END = N_("The receipt printer's paper roll is nearly empty. Please change it soon.")
WRONG_PIN = N_("This PIN is not right.")
# Translators: %(time)s is a duration in the page's language, such as "30 seconds" or "2 minutes".
PIN_LOCKED = N_("Too many wrong PINs. Please wait %(time)s, then try again.")
NO_STAFF_CARD = N_("No staff card was read. Please try again.")
REFUSED = N_("We cannot make a card with these details.")
JOB_FAILED = N_("Something went wrong. The card was not made. Please ask the attendant.")
# The registry refused the number of the card to replace (none such, or it cannot be
# replaced): the resident can correct the number without starting over.
SUCCESSOR_REFUSED = N_(
    "The city has no card with the number %(number)s that can be replaced. Please check the "
    "number on your receipt and correct it."
)
RECEIPT_FAILED = N_("Your card was made, but the receipt was not printed. Please ask the attendant.")
# What became of the card after a failure (kiosk.web.ports.CardFate); "unknown" says nothing more.
CARD_FATES: Mapping[str, str] = {
    "not_made": N_("No card was made, and no card number was used."),
    "number_cancelled": N_("The card was not finished. Its number has been cancelled, so that card cannot be used."),
    "cancel_pending": N_(
        "The card was not finished. Its number will be cancelled as soon as the kiosk can reach the city."
    ),
    "made": N_("Your card is ready. Only the receipt is missing."),
}
# What the progress page asks while the card is made: hold on, and while the chip is written,
# leave the card where it is.
MAKING_CARD = N_("Please wait while your card is made.")
HOLD_CARD = N_("Please wait. Do not take the card out.")
# Translators: %(end)s is what the card is valid until, e.g. "end of the shelter registration".
END_DATE_NEEDED = N_("Enter the date of the %(end)s. It must be after today.")
KIOSK_BUSY = N_("The kiosk is busy with another card. Please wait a moment and try again.")

# What the personalisation job does now (the job names its steps with these keys).
PROGRESS_STEPS: Mapping[str, str] = {
    "queued": N_("Getting ready"),
    "wait_card": N_("Getting a blank card"),
    "allocate": N_("Giving your card a number"),
    "sign": N_("Signing your card"),
    "write_chip": N_("Writing the chip"),
    "print_card": N_("Printing your card"),
    "print_receipt": N_("Printing your receipt"),
    "forget": N_("Deleting your data from the kiosk"),
    "done": N_("Your card is ready"),
}

# Notices for the attendant about earlier cards (kiosk.job.Notice kinds), on the attendant page.
# Translators: %(number)s is the end of a card number, such as "…0018".
STATION_NOTICES: Mapping[str, str] = {
    "voided": N_(
        "The kiosk stopped while making card %(number)s, and that card number is now cancelled. "
        "Put any card left in the card writer or the card printer in the reject tray."
    ),
    "kept": N_(
        "Card %(number)s was printed, but its receipt was not, because the kiosk stopped. The "
        "card is valid: give it to its holder. Its receipt cannot be printed again."
    ),
    "pending": N_(
        "The kiosk stopped while making card %(number)s, and the city registry does not answer "
        "now. The number will be cancelled at the next start. Put any card left in the card "
        "writer or the card printer in the reject tray."
    ),
    "report_pending": N_(
        "Card %(number)s is made and valid, but the city registry has not recorded it yet. The "
        "kiosk will tell the registry again. Until then, the receipt code cannot cancel the card."
    ),
    "report_refused": N_(
        "Card %(number)s is made and valid, but the city registry refuses to record it. Please "
        "tell technical support: the kiosk's log has the whole card number."
    ),
}
# The same kinds when the kiosk stopped before it learnt a card number.
STATION_NOTICES_NO_NUMBER: Mapping[str, str] = {
    "pending": N_(
        "The kiosk stopped while asking the city registry for a card number, and the registry "
        "does not answer now. The kiosk will ask again at its next start."
    ),
    "interrupted": N_("The kiosk stopped before a card number was given. Nothing needs cancelling."),
}
STATION_NOTICE_OTHER = N_("The kiosk has a notice about an earlier card. Its console and log have it.")
TORN_RECEIPT_NOTICE = N_(
    "A receipt was torn off half printed: its code may still cancel the card. Tear it up."
)
