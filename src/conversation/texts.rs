//! What the bot says in its own words (not from the knowledge base), per language: "I don't have
//! an answer", "which of these do you mean?", the handoff and offline messages. The language is
//! the conversation's (one of the knowledge base's languages); a language without a table here
//! reads English.

/// The bot's own sentences in one language.
pub(crate) struct BotTexts {
    pub fallback: &'static str,
    pub fallback_offer: &'static str,
    pub clarify_one: &'static str,
    pub clarify_many: &'static str,
    pub thanks_for_message: &'static str,
    /// Before an answer that has no translation in the conversation's language.
    pub untranslated: &'static str,
    pub nobody_online: &'static str,
    /// `{back}`: " We're back Monday at 9:00." (English only) or nothing.
    pub away: &'static str,
    /// `{position}` in line (the estimate is the status line's, counting down).
    pub connecting: &'static str,
    /// The visitor sent a file while the bot has the conversation.
    pub cannot_read_files: &'static str,
}

pub(crate) const EN: BotTexts = BotTexts {
    fallback: "Sorry, I don't have an answer for that. Could you say it another way?",
    fallback_offer: "Sorry, I still don't have an answer. Would you like to talk to a person?",
    clarify_one: "Did you mean this?",
    clarify_many: "Which of these do you mean?",
    thanks_for_message: "Thanks! Your message is saved and our team will reply by e-mail.",
    untranslated: "This answer is not available in your language yet:",
    nobody_online: "No one from our team is online right now. Leave your e-mail and your message \
                    and we'll write back soon; I'm still here to help in the meantime.",
    away: "Our team is away right now.{back} Leave your e-mail and your message and we'll write \
           back; I'm still here to help in the meantime.",
    connecting: "I'm connecting you with a person. You are number {position} in line. Keep \
                 this window open or come back later: your conversation is saved.",
    cannot_read_files: "I can't open files, but a person from our team can. Would you like to talk to a person?",
};

const DE: BotTexts = BotTexts {
    fallback: "Dazu habe ich leider keine Antwort. Können Sie es anders formulieren?",
    fallback_offer: "Dazu habe ich leider immer noch keine Antwort. Möchten Sie mit einem \
                     Menschen sprechen?",
    clarify_one: "Meinten Sie das?",
    clarify_many: "Welches davon meinen Sie?",
    thanks_for_message: "Danke! Ihre Nachricht ist gespeichert, unser Team antwortet per E-Mail.",
    untranslated: "Diese Antwort gibt es noch nicht auf Deutsch:",
    nobody_online: "Gerade ist niemand aus unserem Team online. Hinterlassen Sie Ihre E-Mail und \
                    Ihre Nachricht, wir melden uns bald; ich helfe Ihnen gern weiter.",
    away: "Unser Team ist gerade nicht da. Hinterlassen Sie Ihre E-Mail und Ihre Nachricht, wir \
           melden uns; ich helfe Ihnen gern weiter.",
    connecting: "Ich verbinde Sie mit einem Menschen. Sie sind Nummer {position} in der \
                 Warteschlange. Lassen Sie dieses Fenster offen oder kommen Sie später \
                 wieder: Ihr Gespräch ist gespeichert.",
    cannot_read_files: "Dateien kann ich nicht öffnen, ein Mensch aus unserem Team aber schon. Möchten Sie mit einem Menschen sprechen?",
};

const ES: BotTexts = BotTexts {
    fallback: "Lo siento, no tengo respuesta para eso. ¿Puedes decirlo de otra manera?",
    fallback_offer: "Lo siento, sigo sin tener respuesta. ¿Quieres hablar con una persona?",
    clarify_one: "¿Te refieres a esto?",
    clarify_many: "¿A cuál de estas te refieres?",
    thanks_for_message: "¡Gracias! Tu mensaje está guardado y nuestro equipo te responderá por \
                         correo.",
    untranslated: "Esta respuesta aún no está disponible en español:",
    nobody_online: "Ahora mismo no hay nadie del equipo conectado. Déjanos tu correo y tu \
                    mensaje y te responderemos pronto; mientras tanto sigo aquí para ayudarte.",
    away: "Nuestro equipo no está disponible ahora. Déjanos tu correo y tu mensaje y te \
           responderemos; mientras tanto sigo aquí para ayudarte.",
    connecting: "Te estoy pasando con una persona. Eres el número {position} en la cola. \
                 Deja esta ventana abierta o vuelve más tarde: tu conversación está guardada.",
    cannot_read_files: "No puedo abrir archivos, pero una persona de nuestro equipo sí. ¿Quieres hablar con una persona?",
};

const FR: BotTexts = BotTexts {
    fallback: "Désolé, je n'ai pas de réponse à cela. Pouvez-vous le dire autrement ?",
    fallback_offer: "Désolé, je n'ai toujours pas de réponse. Voulez-vous parler à une personne ?",
    clarify_one: "Vouliez-vous dire ceci ?",
    clarify_many: "Laquelle de ces questions voulez-vous dire ?",
    thanks_for_message: "Merci ! Votre message est enregistré, notre équipe vous répondra par \
                         e-mail.",
    untranslated: "Cette réponse n'existe pas encore en français :",
    nobody_online: "Personne de notre équipe n'est en ligne pour le moment. Laissez votre e-mail \
                    et votre message, nous vous répondrons bientôt ; je reste là pour vous aider.",
    away: "Notre équipe est absente pour le moment. Laissez votre e-mail et votre message, nous \
           vous répondrons ; je reste là pour vous aider.",
    connecting: "Je vous mets en relation avec une personne. Vous êtes numéro {position} dans la \
                 file. Gardez cette fenêtre ouverte ou revenez plus tard : votre \
                 conversation est enregistrée.",
    cannot_read_files: "Je ne peux pas ouvrir les fichiers, mais une personne de notre équipe le peut. Voulez-vous parler à une personne ?",
};

const NL: BotTexts = BotTexts {
    fallback: "Sorry, daar heb ik geen antwoord op. Kunt u het anders zeggen?",
    fallback_offer: "Sorry, ik heb nog steeds geen antwoord. Wilt u met een medewerker praten?",
    clarify_one: "Bedoelde u dit?",
    clarify_many: "Welke hiervan bedoelt u?",
    thanks_for_message: "Bedankt! Uw bericht is bewaard en ons team antwoordt per e-mail.",
    untranslated: "Dit antwoord is nog niet in het Nederlands beschikbaar:",
    nobody_online: "Er is nu niemand van ons team online. Laat uw e-mail en uw bericht achter, \
                    dan antwoorden we snel; ik help u intussen graag verder.",
    away: "Ons team is er nu niet. Laat uw e-mail en uw bericht achter, dan antwoorden we; ik \
           help u intussen graag verder.",
    connecting: "Ik verbind u met een medewerker. U bent nummer {position} in de rij. \
                 Houd dit venster open of kom later terug: uw gesprek is bewaard.",
    cannot_read_files: "Ik kan geen bestanden openen, maar iemand van ons team wel. Wilt u met een medewerker praten?",
};

/// The bot's sentences in language `code` (English for a language without a table).
pub(crate) fn for_language(code: &str) -> &'static BotTexts {
    match code {
        "de" => &DE,
        "es" => &ES,
        "fr" => &FR,
        "nl" => &NL,
        _ => &EN,
    }
}

impl BotTexts {
    pub(crate) fn clarify(&self, options: usize) -> &'static str {
        if options == 1 {
            self.clarify_one
        } else {
            self.clarify_many
        }
    }

    pub(crate) fn connecting(&self, position: usize) -> String {
        self.connecting.replace("{position}", &position.to_string())
    }

    pub(crate) fn away(&self, back: &str) -> String {
        self.away.replace("{back}", back)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sentence the bot says in every language, with its placeholders filled.
    fn every_sentence() -> Vec<(&'static str, String)> {
        ["en", "de", "es", "fr", "nl"]
            .into_iter()
            .flat_map(|code| {
                let t = for_language(code);
                [
                    t.fallback.to_owned(),
                    t.fallback_offer.to_owned(),
                    t.clarify_one.to_owned(),
                    t.clarify_many.to_owned(),
                    t.thanks_for_message.to_owned(),
                    t.untranslated.to_owned(),
                    t.nobody_online.to_owned(),
                    t.away(" We're back Monday at 9:00."),
                    t.away(""),
                    t.connecting(3),
                ]
                .into_iter()
                .map(move |s| (code, s))
            })
            .collect()
    }

    #[test]
    fn no_sentence_ends_twice_or_runs_into_the_next() {
        for (code, s) in every_sentence() {
            assert!(!s.contains(".."), "{code}: a double full stop: {s}");
            assert!(!s.contains("  "), "{code}: a double space: {s}");
            assert!(!s.contains("{"), "{code}: a placeholder left: {s}");
            assert!(
                s.ends_with(['.', '?', '!', ':']),
                "{code}: ends without a full stop: {s}"
            );
        }
    }
}
