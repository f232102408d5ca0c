// @ts-check
// The chat widget's own texts, per language (en, de, es, fr, nl). The visitor's language
// (settings.language, else the browser's) picks the first and is sent as the locale; the
// conversation's language, which the server tells among the knowledge base's (welcome, each bot
// answer), then rules. settings.texts overrides any of them on every language (docs/widget.md).

export const TEXTS = {};
TEXTS.en = {
  title: "Help", greeting: "Hi! Ask me anything about your order, shipping or returns.",
  placeholder: "Type your question…", send: "Send", human: "Talk to a person",
  bot: "Assistant · usually instant", waiting: "Waiting for a person", reconnecting: "Reconnecting…",
  helpful: "Was this helpful?", yes: "Yes", no: "No", thanks: "Thanks for the feedback!",
  rate: "How did we do?", comment: "Anything to add? (optional)", rated: "Thank you!",
  email: "Your e-mail", message: "Your message", leave: "Send message", open: "Open chat", close: "Close chat",
  unread: "unread", yesLabel: "Yes, this answer helped", noLabel: "No, this answer did not help",
  closed: "Conversation closed", back: "You're back with the assistant", joined: "joined",
  talking: "Talking to", assigned: "will be with you shortly",
  requeued: "Sorry for the wait: you keep your place in line", transferred: "Passing you to a colleague…",
  toTeam: "Passing you to the right team…", nobody: "No one from our team is online right now. You keep your place in line; or leave your e-mail and your message and we'll reply.",
  movedBack: "You are now #{n} in line: someone who was waiting before you is back in line",
  tooLong: "Not sent: this message is too long. Shorten it and send again.",
  attach: "Attach a file", remove: "Remove", cancel: "Cancel", notSentRetry: "Try again", fileBig: "Not sent: files up to {n} can be sent", fileType: "Not sent: this kind of file can't be sent here (images, PDF or text)",
  notSent: "Not sent. Please try again.", later: "Sending in a moment…",
  inLine: "in line", longer: "taking longer than expected, sorry", waited: "waiting {n} min",
  sentMessage: "Message sent: we'll reply to", about: ", about {n} min",
  typing: "{name} is typing…", stars: "{n} of 5", pickStars: "Choose from 1 to 5 stars first.",
  charsLeft: "{n} characters left", charsOver: "{n} characters too many: shorten it to send",
  more: "More", emailMe: "E-mail me this conversation", mailQueued: "On its way to {email}.", mailSoon: "This conversation was already e-mailed to you in the last hour."
};
TEXTS.de = {
  title: "Hilfe", greeting: "Hallo! Fragen Sie mich alles zu Bestellung, Versand oder Rücksendung.",
  placeholder: "Ihre Frage…", send: "Senden", human: "Mit einem Menschen sprechen",
  bot: "Assistent · antwortet sofort", waiting: "Warten auf einen Menschen", reconnecting: "Verbinde neu…",
  helpful: "War das hilfreich?", yes: "Ja", no: "Nein", thanks: "Danke für Ihr Feedback!",
  rate: "Wie waren wir?", comment: "Möchten Sie etwas ergänzen? (optional)", rated: "Vielen Dank!",
  email: "Ihre E-Mail", message: "Ihre Nachricht", leave: "Nachricht senden", open: "Chat öffnen", close: "Chat schließen",
  unread: "ungelesen", yesLabel: "Ja, diese Antwort hat geholfen", noLabel: "Nein, diese Antwort hat nicht geholfen",
  closed: "Gespräch beendet", back: "Sie sind wieder beim Assistenten", joined: "ist da",
  talking: "Im Gespräch mit", assigned: "ist gleich für Sie da",
  requeued: "Entschuldigen Sie die Wartezeit: Sie behalten Ihren Platz in der Warteschlange", transferred: "Wir verbinden Sie mit einer Kollegin oder einem Kollegen…",
  toTeam: "Wir verbinden Sie mit dem zuständigen Team…", nobody: "Gerade ist niemand aus unserem Team online. Sie behalten Ihren Platz; oder hinterlassen Sie Ihre E-Mail und Ihre Nachricht, wir antworten Ihnen.",
  movedBack: "Sie sind jetzt Nummer {n}: jemand, der vor Ihnen gewartet hat, ist wieder in der Warteschlange",
  tooLong: "Nicht gesendet: die Nachricht ist zu lang. Kürzen Sie sie und senden Sie erneut.",
  attach: "Datei anhängen", remove: "Entfernen", cancel: "Abbrechen", notSentRetry: "Erneut versuchen", fileBig: "Nicht gesendet: Dateien bis {n} sind möglich", fileType: "Nicht gesendet: diese Art Datei geht hier nicht (Bilder, PDF oder Text)",
  notSent: "Nicht gesendet. Bitte versuchen Sie es noch einmal.", later: "Wird gleich gesendet…",
  inLine: "in der Warteschlange", longer: "dauert länger als erwartet, Entschuldigung", waited: "wartet seit {n} Min.",
  sentMessage: "Nachricht gesendet: wir antworten an", about: ", etwa {n} Min.",
  typing: "{name} schreibt…", stars: "{n} von 5", pickStars: "Wählen Sie zuerst 1 bis 5 Sterne.",
  charsLeft: "noch {n} Zeichen", charsOver: "{n} Zeichen zu viel: kürzen Sie, um zu senden",
  more: "Mehr", emailMe: "Dieses Gespräch per E-Mail senden", mailQueued: "Unterwegs an {email}.", mailSoon: "Dieses Gespräch wurde Ihnen in der letzten Stunde schon per E-Mail gesendet."
};
TEXTS.es = {
  title: "Ayuda", greeting: "¡Hola! Pregúntame lo que quieras sobre tu pedido, envíos o devoluciones.",
  placeholder: "Escribe tu pregunta…", send: "Enviar", human: "Hablar con una persona",
  bot: "Asistente · responde al momento", waiting: "Esperando a una persona", reconnecting: "Reconectando…",
  helpful: "¿Te ha servido?", yes: "Sí", no: "No", thanks: "¡Gracias por tu opinión!",
  rate: "¿Qué tal lo hemos hecho?", comment: "¿Algo más que añadir? (opcional)", rated: "¡Gracias!",
  email: "Tu correo", message: "Tu mensaje", leave: "Enviar mensaje", open: "Abrir chat", close: "Cerrar chat",
  unread: "sin leer", yesLabel: "Sí, esta respuesta me ha servido", noLabel: "No, esta respuesta no me ha servido",
  closed: "Conversación cerrada", back: "Vuelves a hablar con el asistente", joined: "se ha unido",
  talking: "Hablando con", assigned: "te atenderá enseguida",
  requeued: "Perdona la espera: mantienes tu lugar en la cola", transferred: "Te pasamos con un compañero…",
  toTeam: "Te pasamos con el equipo adecuado…", nobody: "Ahora mismo no hay nadie del equipo conectado. Mantienes tu lugar en la cola; o déjanos tu correo y tu mensaje y te responderemos.",
  movedBack: "Ahora eres el número {n}: alguien que esperaba antes que tú ha vuelto a la cola",
  tooLong: "No enviado: el mensaje es demasiado largo. Acórtalo y envíalo de nuevo.",
  attach: "Adjuntar un archivo", remove: "Quitar", cancel: "Cancelar", notSentRetry: "Reintentar", fileBig: "No enviado: se aceptan archivos de hasta {n}", fileType: "No enviado: este tipo de archivo no se acepta (imágenes, PDF o texto)",
  notSent: "No enviado. Inténtalo de nuevo.", later: "Se enviará en un momento…",
  inLine: "en la cola", longer: "tarda más de lo previsto, perdona", waited: "esperando {n} min",
  sentMessage: "Mensaje enviado: te responderemos a", about: ", unos {n} min",
  typing: "{name} está escribiendo…", stars: "{n} de 5", pickStars: "Elige primero de 1 a 5 estrellas.",
  charsLeft: "quedan {n} caracteres", charsOver: "sobran {n} caracteres: acórtalo para enviarlo",
  more: "Más", emailMe: "Enviarme esta conversación por correo", mailQueued: "En camino a {email}.", mailSoon: "Ya te enviamos esta conversación por correo en la última hora."
};
TEXTS.fr = {
  title: "Aide", greeting: "Bonjour ! Posez-moi vos questions sur votre commande, la livraison ou les retours.",
  placeholder: "Votre question…", send: "Envoyer", human: "Parler à une personne",
  bot: "Assistant · répond tout de suite", waiting: "En attente d'une personne", reconnecting: "Reconnexion…",
  helpful: "Cela vous a-t-il aidé ?", yes: "Oui", no: "Non", thanks: "Merci pour votre avis !",
  rate: "Comment s'est passé l'échange ?", comment: "Quelque chose à ajouter ? (facultatif)", rated: "Merci !",
  email: "Votre e-mail", message: "Votre message", leave: "Envoyer le message", open: "Ouvrir le chat", close: "Fermer le chat",
  unread: "non lus", yesLabel: "Oui, cette réponse m'a aidé", noLabel: "Non, cette réponse ne m'a pas aidé",
  closed: "Conversation terminée", back: "Vous êtes de retour avec l'assistant", joined: "a rejoint",
  talking: "En conversation avec", assigned: "arrive dans un instant",
  requeued: "Désolé pour l'attente : vous gardez votre place dans la file", transferred: "Nous vous passons un collègue…",
  toTeam: "Nous vous passons la bonne équipe…", nobody: "Personne de notre équipe n'est en ligne pour le moment. Vous gardez votre place ; ou laissez votre e-mail et votre message, nous vous répondrons.",
  movedBack: "Vous êtes maintenant n° {n} : quelqu'un qui attendait avant vous est de retour dans la file",
  tooLong: "Non envoyé : le message est trop long. Raccourcissez-le et renvoyez-le.",
  attach: "Joindre un fichier", remove: "Retirer", cancel: "Annuler", notSentRetry: "Réessayer", fileBig: "Non envoyé : fichiers jusqu'à {n}", fileType: "Non envoyé : ce type de fichier n'est pas accepté (images, PDF ou texte)",
  notSent: "Non envoyé. Veuillez réessayer.", later: "Envoi dans un instant…",
  inLine: "dans la file", longer: "plus long que prévu, désolé", waited: "attente {n} min",
  sentMessage: "Message envoyé : nous répondrons à", about: ", environ {n} min",
  typing: "{name} écrit…", stars: "{n} sur 5", pickStars: "Choisissez d'abord de 1 à 5 étoiles.",
  charsLeft: "encore {n} caractères", charsOver: "{n} caractères en trop : raccourcissez pour envoyer",
  more: "Plus", emailMe: "M'envoyer cette conversation par e-mail", mailQueued: "En route vers {email}.", mailSoon: "Cette conversation vous a déjà été envoyée par e-mail dans la dernière heure."
};
TEXTS.nl = {
  title: "Hulp", greeting: "Hallo! Vraag me alles over uw bestelling, verzending of retouren.",
  placeholder: "Uw vraag…", send: "Versturen", human: "Met een medewerker praten",
  bot: "Assistent · antwoordt meteen", waiting: "Wachten op een medewerker", reconnecting: "Opnieuw verbinden…",
  helpful: "Had u hier iets aan?", yes: "Ja", no: "Nee", thanks: "Bedankt voor uw feedback!",
  rate: "Hoe hebben we het gedaan?", comment: "Nog iets toe te voegen? (optioneel)", rated: "Dank u!",
  email: "Uw e-mail", message: "Uw bericht", leave: "Bericht versturen", open: "Chat openen", close: "Chat sluiten",
  unread: "ongelezen", yesLabel: "Ja, dit antwoord hielp", noLabel: "Nee, dit antwoord hielp niet",
  closed: "Gesprek gesloten", back: "U bent weer bij de assistent", joined: "is erbij",
  talking: "In gesprek met", assigned: "helpt u zo",
  requeued: "Sorry voor het wachten: u houdt uw plaats in de rij", transferred: "We verbinden u met een collega…",
  toTeam: "We verbinden u met het juiste team…", nobody: "Er is nu niemand van ons team online. U houdt uw plaats in de rij; of laat uw e-mail en uw bericht achter, dan antwoorden we.",
  movedBack: "U bent nu nummer {n}: iemand die vóór u wachtte, staat weer in de rij",
  tooLong: "Niet verstuurd: dit bericht is te lang. Maak het korter en verstuur het opnieuw.",
  attach: "Bestand toevoegen", remove: "Verwijderen", cancel: "Annuleren", notSentRetry: "Opnieuw proberen", fileBig: "Niet verstuurd: bestanden tot {n} zijn mogelijk", fileType: "Niet verstuurd: dit soort bestand kan hier niet (afbeeldingen, PDF of tekst)",
  notSent: "Niet verstuurd. Probeer het opnieuw.", later: "Wordt zo verstuurd…",
  inLine: "in de rij", longer: "duurt langer dan verwacht, sorry", waited: "wacht {n} min",
  sentMessage: "Bericht verstuurd: we antwoorden naar", about: ", ongeveer {n} min",
  typing: "{name} typt…", stars: "{n} van 5", pickStars: "Kies eerst 1 tot 5 sterren.",
  charsLeft: "nog {n} tekens", charsOver: "{n} tekens te veel: maak het korter om te versturen",
  more: "Meer", emailMe: "Dit gesprek naar mij mailen", mailQueued: "Onderweg naar {email}.", mailSoon: "Dit gesprek is het afgelopen uur al naar u gemaild."
};

/** The first language of `tag` ("es-MX" -> "es") that the widget has texts for, else English. @param {string | null | undefined} tag */
export function languageOf(tag) {
  const code = String(tag || "").toLowerCase().split(/[-_]/)[0];
  return TEXTS[code] ? code : "en";
}

/**
 * The texts of language `code`: the built-in ones, then the site's (`site`, settings.texts:
 * keys for every language, and per language under its code, e.g. texts.es.greeting).
 * @param {string} code @param {Record<string, any>} [site]
 * @returns {typeof TEXTS.en}
 */
export function textsIn(code, site) {
  const given = site || {};
  const shared = {};
  Object.keys(given).forEach(k => { if (typeof given[k] === "string") shared[k] = given[k]; });
  return Object.assign({}, TEXTS.en, TEXTS[code], shared, given[code] || {});
}
