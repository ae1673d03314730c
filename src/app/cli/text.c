/*
 * text.c — what the terminal app says, in Dutch (the default), French,
 * German and English.  The Dutch follows the citizen's manual the app
 * mirrors: "Ik log in", "Bevestig", the 5-digit code, the phone number
 * without the leading 0.  Values go in as %1 and %2 (never printf formats:
 * these strings are data, not format strings).
 */
#include <string.h>

#include "cli.h"

static const char *const langs[] = { "nl", "fr", "de", "en" };

static const char *const texts[T_COUNT][4] = {
	[T_WELCOME] = { "Welkom bij sleutel.", "Bienvenue dans sleutel.", "Willkommen bei sleutel.",
		"Welcome to sleutel." },
	[T_TERMS] = { "Aanvaard je de voorwaarden (versie %1)? [j/n] ",
		"Acceptez-vous les conditions (version %1) ? [o/n] ",
		"Akzeptieren Sie die Bedingungen (Version %1)? [j/n] ",
		"Do you accept the terms (version %1)? [y/n] " },
	[T_PHONE] = { "Vul je gsm-nummer in zonder de 0 vooraan: BE (+32) ",
		"Entrez votre numéro de GSM sans le 0 initial : BE (+32) ",
		"Geben Sie Ihre Handynummer ohne die führende 0 ein: BE (+32) ",
		"Enter your mobile number without the leading 0: BE (+32) " },
	[T_SMS_SENT] = { "Je ontvangt een 5-cijferige activatiecode per sms op %1.",
		"Vous recevez un code d'activation à 5 chiffres par SMS au %1.",
		"Sie erhalten einen 5-stelligen Aktivierungscode per SMS an %1.",
		"You will receive a 5-digit activation code by SMS on %1." },
	[T_SMS_CODE] = { "Activatiecode: ", "Code d'activation : ", "Aktivierungscode: ", "Activation code: " },
	[T_ATTEMPTS_LEFT] = { "Foute code. Nog %1 poging(en).", "Code erroné. Encore %1 essai(s).",
		"Falscher Code. Noch %1 Versuch(e).", "Wrong code. %1 attempt(s) left." },
	[T_PROOFING] = { "Koppel je identiteit. Open een van deze links in je browser:",
		"Liez votre identité. Ouvrez un de ces liens dans votre navigateur :",
		"Verknüpfen Sie Ihre Identität. Öffnen Sie einen dieser Links im Browser:",
		"Link your identity. Open one of these links in your browser:" },
	[T_PROOFING_WAIT] = { "Even geduld, we wachten tot je identiteit gekoppeld is...",
		"Un instant, nous attendons que votre identité soit liée...",
		"Einen Moment, wir warten, bis Ihre Identität verknüpft ist...",
		"One moment, waiting until your identity is linked..." },
	[T_PROOFED] = { "Je identiteit is gekoppeld: %1 %2.", "Votre identité est liée : %1 %2.",
		"Ihre Identität ist verknüpft: %1 %2.", "Your identity is linked: %1 %2." },
	[T_PROOF_CODE_WAIT] = { "Je identiteit is bevestigd in de browser. Vul hier de code in die de webpagina toont.",
		"Votre identité est confirmée dans le navigateur. Entrez ici le code affiché par la page web.",
		"Ihre Identität ist im Browser bestätigt. Geben Sie hier den Code ein, den die Webseite zeigt.",
		"Your identity was confirmed in the browser. Enter the code the web page shows here." },
	[T_PROOF_CODE] = { "Code van de webpagina (XXXX-XXXX): ", "Code de la page web (XXXX-XXXX) : ",
		"Code der Webseite (XXXX-XXXX): ", "Code from the web page (XXXX-XXXX): " },
	[T_PROOF_AGAIN] = { "Die code is niet meer geldig. Bevestig je identiteit opnieuw.",
		"Ce code n'est plus valable. Confirmez à nouveau votre identité.",
		"Dieser Code ist nicht mehr gültig. Bestätigen Sie Ihre Identität erneut.",
		"This code is no longer valid. Confirm your identity again." },
	[T_CODE_NEW] = { "Kies een nieuwe 5-cijferige code: ", "Choisissez un nouveau code à 5 chiffres : ",
		"Wählen Sie einen neuen 5-stelligen Code: ", "Choose a new 5-digit code: " },
	[T_CODE_AGAIN] = { "Voer deze code opnieuw in: ", "Entrez ce code une nouvelle fois : ",
		"Geben Sie diesen Code noch einmal ein: ", "Enter this code again: " },
	[T_CODE_MISMATCH] = { "De codes zijn niet gelijk. Probeer opnieuw.",
		"Les codes ne sont pas identiques. Réessayez.", "Die Codes stimmen nicht überein. Noch einmal.",
		"The codes differ. Try again." },
	[T_CODE_FIVE] = { "De code heeft 5 cijfers.", "Le code a 5 chiffres.", "Der Code hat 5 Ziffern.",
		"The code has 5 digits." },
	[T_READY] = { "Je bent nu klaar om de app te gebruiken.", "Vous pouvez maintenant utiliser l'app.",
		"Sie können die App jetzt benutzen.", "You are ready to use the app." },
	[T_WAITING] = { "Wachten op een verzoek... (Ctrl-C om te stoppen)",
		"En attente d'une demande... (Ctrl-C pour arrêter)", "Warten auf eine Anfrage... (Strg-C zum Beenden)",
		"Waiting for a request... (Ctrl-C to stop)" },
	[T_NO_REQUESTS] = { "Geen verzoeken.", "Aucune demande.", "Keine Anfragen.", "No requests." },
	[T_ACTION_LOGIN] = { "Ik log in", "Je me connecte", "Ich melde mich an", "I log in" },
	[T_ACTION_PAYMENT] = { "Ik bevestig de betaling", "Je confirme le paiement", "Ich bestätige die Zahlung",
		"I confirm the payment" },
	[T_ACTION_SIGN] = { "Ik onderteken", "Je signe", "Ich unterschreibe", "I sign" },
	[T_PICK] = { "Kies de code die je scherm toont (1-3, 0 = weigeren): ",
		"Choisissez le code affiché sur votre écran (1-3, 0 = refuser) : ",
		"Wählen Sie den Code auf Ihrem Bildschirm (1-3, 0 = ablehnen): ",
		"Pick the code your screen shows (1-3, 0 = refuse): " },
	[T_CONFIRM] = { "Bevestig? [j/n] ", "Confirmer ? [o/n] ", "Bestätigen? [j/n] ", "Confirm? [y/n] " },
	[T_CODE_ENTER] = { "Voer je 5-cijferige code in: ", "Entrez votre code à 5 chiffres : ",
		"Geben Sie Ihren 5-stelligen Code ein: ", "Enter your 5-digit code: " },
	[T_APPROVED] = { "Bevestigd. Je kunt je telefoon wegleggen.", "Confirmé. Vous pouvez poser votre téléphone.",
		"Bestätigt. Sie können Ihr Telefon weglegen.", "Confirmed. You can put your phone away." },
	[T_REFUSED] = { "Geweigerd.", "Refusé.", "Abgelehnt.", "Refused." },
	[T_WRONG_CODE] = { "Foute code (%1 keer na elkaar).", "Code erroné (%1 fois de suite).",
		"Falscher Code (%1-mal hintereinander).", "Wrong code (%1 in a row)." },
	[T_LOCKED] = { "Je sleutel is geblokkeerd.", "Votre clé est bloquée.", "Ihr Schlüssel ist gesperrt.",
		"Your key is locked." },
	[T_EXPIRES] = { "Nog %1 seconden.", "Encore %1 secondes.", "Noch %1 Sekunden.", "%1 seconds left." },
	[T_ON_OS] = { "%1 op %2", "%1 sous %2", "%1 unter %2", "%1 on %2" },
	[T_SOME_BROWSER] = { "een onbekende browser", "un navigateur inconnu", "einem unbekannten Browser",
		"an unknown browser" },
	[T_REQUESTED_FROM] = { "Inloggen bij %1 — aangevraagd vanaf %2", "Connexion à %1 — demandée depuis %2",
		"Anmeldung bei %1 — angefragt von %2", "Login at %1 — requested from %2" },
	[T_NOT_YOUR_SCREEN] = { "Is dat niet het scherm voor je? Weiger dan.",
		"Ce n'est pas l'écran devant vous ? Alors refusez.",
		"Ist das nicht der Bildschirm vor Ihnen? Dann lehnen Sie ab.",
		"Is that not the screen in front of you? Then refuse." },
	[T_DEVICES] = { "Toestellen:", "Appareils :", "Geräte:", "Devices:" },
	[T_THIS_DEVICE] = { "(dit toestel)", "(cet appareil)", "(dieses Gerät)", "(this device)" },
	[T_REMOVED] = { "Toestel verwijderd.", "Appareil supprimé.", "Gerät entfernt.", "Device removed." },
	[T_YES_CHARS] = { "jJyY", "oOyY", "jJyY", "yY" },
	/* Smart-ID, in the manual's words ("Registreren", "Kies je PIN1",
	 * "registratiecode", "Ga verder op je computer"). */
	[T_SID_REGISTER] = { "Registreren", "S'enregistrer", "Registrieren", "Register" },
	[T_SID_COUNTRY] = { "Land: %1, verificatiemethode: ID-kaart",
		"Pays : %1, méthode de vérification : carte d'identité",
		"Land: %1, Verifizierungsmethode: Personalausweis", "Country: %1, verification method: ID card" },
	[T_SID_TERMS] = { "Ga je akkoord met de algemene voorwaarden voor de Smart-ID-certificaten (versie %1)? [j/n] ",
		"Acceptez-vous les conditions générales des certificats Smart-ID (version %1) ? [o/n] ",
		"Akzeptieren Sie die allgemeinen Bedingungen für die Smart-ID-Zertifikate (Version %1)? [j/n] ",
		"Do you accept the terms and conditions for the Smart-ID certificates (version %1)? [y/n] " },
	[T_SID_PIN_NOTE] = { "Opgelet: je pincodes kunnen niet hersteld of gereset worden. Kies codes die je makkelijk "
			     "onthoudt, maar die anderen moeilijk kunnen raden.",
		"Attention : vos codes PIN ne peuvent être ni récupérés ni réinitialisés. Choisissez des codes faciles "
		"à "
		"retenir, mais difficiles à deviner pour les autres.",
		"Achtung: Ihre PINs können weder wiederhergestellt noch zurückgesetzt werden. Wählen Sie PINs, die Sie "
		"sich "
		"leicht merken und die andere schwer erraten.",
		"Note: your PINs cannot be recovered or reset. Choose PINs you remember easily but others cannot "
		"guess." },
	[T_SID_PIN1_NEW] = { "Kies je PIN1 (4 tot 12 cijfers, om in te loggen): ",
		"Choisissez votre PIN1 (4 à 12 chiffres, pour vous connecter) : ",
		"Wählen Sie Ihre PIN1 (4 bis 12 Ziffern, zum Anmelden): ",
		"Choose your PIN1 (4 to 12 digits, to log in): " },
	[T_SID_PIN2_NEW] = { "Kies je PIN2 (5 tot 12 cijfers, om te ondertekenen): ",
		"Choisissez votre PIN2 (5 à 12 chiffres, pour signer) : ",
		"Wählen Sie Ihre PIN2 (5 bis 12 Ziffern, zum Unterschreiben): ",
		"Choose your PIN2 (5 to 12 digits, to sign): " },
	[T_SID_PIN_AGAIN] = { "Voer deze pincode opnieuw in: ", "Entrez ce code PIN une nouvelle fois : ",
		"Geben Sie diese PIN noch einmal ein: ", "Enter this PIN again: " },
	[T_SID_PIN_MISMATCH] = { "De pincodes zijn niet gelijk. Probeer opnieuw.",
		"Les codes PIN ne sont pas identiques. Réessayez.", "Die PINs stimmen nicht überein. Noch einmal.",
		"The PINs differ. Try again." },
	[T_SID_PIN_FORM] = { "PIN1 heeft 4 tot 12 cijfers, PIN2 5 tot 12.",
		"Le PIN1 a 4 à 12 chiffres, le PIN2 5 à 12.", "Die PIN1 hat 4 bis 12 Ziffern, die PIN2 5 bis 12.",
		"PIN1 has 4 to 12 digits, PIN2 5 to 12." },
	[T_SID_MAKING_KEYS] = { "Je sleutels worden aangemaakt...", "Vos clés sont en cours de création...",
		"Ihre Schlüssel werden erstellt...", "Making your keys..." },
	[T_SID_CONTINUE] = { "Ga verder op je computer: open %1 en log in met je ID-kaart.",
		"Continuez sur votre ordinateur : ouvrez %1 et connectez-vous avec votre carte d'identité.",
		"Fahren Sie am Computer fort: Öffnen Sie %1 und melden Sie sich mit Ihrem Personalausweis an.",
		"Continue on your computer: open %1 and log in with your ID card." },
	[T_SID_CODE] = { "Je registratiecode: %1 (%2 minuten geldig)",
		"Votre code d'enregistrement : %1 (valable %2 minutes)",
		"Ihr Registrierungscode: %1 (%2 Minuten gültig)", "Your registration code: %1 (valid for %2 minutes)" },
	[T_SID_WAITING] = { "Wachten tot je de registratie op je computer bevestigt...",
		"En attente de la confirmation de l'enregistrement sur votre ordinateur...",
		"Warten, bis Sie die Registrierung am Computer bestätigen...",
		"Waiting until you confirm the registration on your computer..." },
	[T_SID_CONFIRMED] = { "De registratie is bevestigd voor %1 %2.", "L'enregistrement est confirmé pour %1 %2.",
		"Die Registrierung ist für %1 %2 bestätigt.", "The registration is confirmed for %1 %2." },
	[T_SID_RECALL] = { "Toon dat je je pincodes onthouden hebt: voer PIN1 en PIN2 nog eens in.",
		"Montrez que vous avez retenu vos codes PIN : entrez encore une fois le PIN1 et le PIN2.",
		"Zeigen Sie, dass Sie sich Ihre PINs gemerkt haben: Geben Sie PIN1 und PIN2 noch einmal ein.",
		"Show that you remember your PINs: enter PIN1 and PIN2 once more." },
	[T_SID_PIN1_ENTER] = { "Voer je PIN1 in: ", "Entrez votre PIN1 : ", "Geben Sie Ihre PIN1 ein: ",
		"Enter your PIN1: " },
	[T_SID_PIN2_ENTER] = { "Voer je PIN2 in: ", "Entrez votre PIN2 : ", "Geben Sie Ihre PIN2 ein: ",
		"Enter your PIN2: " },
	[T_SID_WRONG_RECALL] = { "Foute pincode: %1. Nog %2 poging(en).", "Code PIN erroné : %1. Encore %2 essai(s).",
		"Falsche PIN: %1. Noch %2 Versuch(e).", "Wrong PIN: %1. %2 attempt(s) left." },
	[T_SID_FAILED] = { "De registratie is mislukt. Begin opnieuw met 'Registreren'.",
		"L'enregistrement a échoué. Recommencez avec « S'enregistrer ».",
		"Die Registrierung ist fehlgeschlagen. Beginnen Sie erneut mit „Registrieren“.",
		"The registration failed. Start again with 'Register'." },
	[T_SID_EXPIRED] = { "De registratiecode is verlopen. Begin opnieuw.",
		"Le code d'enregistrement a expiré. Recommencez.",
		"Der Registrierungscode ist abgelaufen. Beginnen Sie erneut.",
		"The registration code has expired. Start again." },
	[T_SID_READY] = { "Je Smart-ID-account is klaar. Documentnummer: %1",
		"Votre compte Smart-ID est prêt. Numéro de document : %1",
		"Ihr Smart-ID-Konto ist bereit. Dokumentnummer: %1",
		"Your Smart-ID account is ready. Document number: %1" },
	[T_SID_VC] = { "Verificatiecode: %1", "Code de contrôle : %1", "Kontrollcode: %1", "Verification code: %1" },
	[T_SID_VC_CHECK] = { "Bevestig alleen als je computer dezelfde code toont.",
		"Ne confirmez que si votre ordinateur affiche le même code.",
		"Bestätigen Sie nur, wenn Ihr Computer denselben Code zeigt.",
		"Confirm only if your computer shows the same code." },
	[T_SID_WRONG_PIN] = { "Foute pincode (%1 keer na elkaar). Nog %2 poging(en) voor de blokkering.",
		"Code PIN erroné (%1 fois de suite). Encore %2 essai(s) avant le blocage.",
		"Falsche PIN (%1-mal hintereinander). Noch %2 Versuch(e) bis zur Sperre.",
		"Wrong PIN (%1 in a row). %2 attempt(s) left before the lock." },
	[T_SID_REVOKED] = { "Dit toestel is ingetrokken: er werd een kopie van gezien. Registreer opnieuw.",
		"Cet appareil est révoqué : une copie en a été vue. Enregistrez-vous à nouveau.",
		"Dieses Gerät ist widerrufen: Eine Kopie davon wurde gesehen. Registrieren Sie sich erneut.",
		"This device is revoked: a copy of it was seen. Register again." },
	[T_SID_NONE] = { "Geen Smart-ID op dit toestel. Kies 'Registreren'.",
		"Pas de Smart-ID sur cet appareil. Choisissez « S'enregistrer ».",
		"Keine Smart-ID auf diesem Gerät. Wählen Sie „Registrieren“.",
		"No Smart-ID on this device. Choose 'Register'." },
	[T_SID_DOCNR] = { "Documentnummer: %1", "Numéro de document : %1", "Dokumentnummer: %1",
		"Document number: %1" },
	[T_SID_FAILURES] = { "%1: %2 foute poging(en) na elkaar", "%1 : %2 essai(s) erroné(s) de suite",
		"%1: %2 Fehlversuch(e) hintereinander", "%1: %2 wrong attempt(s) in a row" },
	[T_SID_BAD_REQUEST] = { "Dit verzoek klopt niet en wordt niet ondertekend.",
		"Cette demande n'est pas cohérente et ne sera pas signée.",
		"Diese Anfrage ist nicht stimmig und wird nicht unterschrieben.",
		"This request does not add up and will not be signed." },
};

bool
lang_known(const char *lang)
{
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (lang != NULL && strcmp(lang, langs[i]) == 0)
			return true;
	return false;
}

const char *
txt(const struct cli *c, enum txt id)
{
	size_t li = 0;

	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (c->c_lang != NULL && strcmp(c->c_lang, langs[i]) == 0)
			li = i;
	if ((int)id < 0 || id >= T_COUNT)
		return "";
	return texts[id][li];
}
