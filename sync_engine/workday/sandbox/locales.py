"""Fault texts in the integration user's language: Workday words its faults in the user's locale, while
fault codes and Xpaths stay the same. English is Workday's wording (workday.md §2.7); German and French are
our translations, there to prove a client reads codes and Xpaths, not words."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LOCALES", "FaultTexts", "texts"]


@dataclass(frozen=True, slots=True)
class FaultTexts:
    #: Starts a validation fault's faultstring.
    validation: str
    #: Starts a processing fault's faultstring.
    processing: str
    #: An unknown reference: `{value}` and `{type}` are filled in.
    invalid_id: str
    version: str
    not_authorized: str
    #: A processing fault that passes if the request is sent again.
    transient: str

    def invalid(self, value: str, id_type: str) -> str:
        return self.invalid_id.format(value=value, type=id_type)


LOCALES: dict[str, FaultTexts] = {
    "en": FaultTexts(
        validation="Validation error occurred.",
        processing="Processing error occurred.",
        invalid_id="Invalid ID value. '{value}' is not a valid ID value for type = '{type}'",
        version="The web service or version is invalid for the requested operation",
        not_authorized="The task submitted is not authorized.",
        transient="An internal error occurred; please try again.",
    ),
    "de": FaultTexts(
        validation="Validierungsfehler aufgetreten.",
        processing="Verarbeitungsfehler aufgetreten.",
        invalid_id="Ungültiger ID-Wert. '{value}' ist kein gültiger ID-Wert für Typ = '{type}'",
        version="Der Webservice oder die Version ist für den angeforderten Vorgang ungültig",
        not_authorized="Die übermittelte Aufgabe ist nicht berechtigt.",
        transient="Ein interner Fehler ist aufgetreten; bitte versuchen Sie es erneut.",
    ),
    "fr": FaultTexts(
        validation="Une erreur de validation s'est produite.",
        processing="Une erreur de traitement s'est produite.",
        invalid_id=(
            "Valeur d'ID non valide. '{value}' n'est pas une valeur d'ID valide pour le type = '{type}'"
        ),
        version="Le service Web ou la version n'est pas valide pour l'opération demandée",
        not_authorized="La tâche soumise n'est pas autorisée.",
        transient="Une erreur interne s'est produite ; veuillez réessayer.",
    ),
}


def texts(locale: str) -> FaultTexts:
    """The texts of `locale`; English for a locale we have no texts for."""
    return LOCALES.get(locale, LOCALES["en"])
