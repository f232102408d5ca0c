//! What the mails to visitors say, in the languages the widget speaks (en, de, es, fr, nl;
//! English otherwise), as a plain-text part and a simple HTML part written side by side.

use crate::conversation::{Event, EventBody};

/// A mail's body, written once into both parts.
#[derive(Debug, Default)]
pub struct Body {
    pub text: String,
    pub html: String,
}

impl Body {
    /// A paragraph (its lines kept).
    pub fn para(&mut self, text: &str) -> &mut Body {
        self.text.push_str(text.trim_end());
        self.text.push_str("\n\n");
        self.html.push_str("<p>");
        self.html.push_str(&lines_html(text.trim_end()));
        self.html.push_str("</p>\n");
        self
    }

    /// A paragraph with a bold label first ("Ann:" before what Ann wrote).
    pub fn said(&mut self, who: &str, text: &str) -> &mut Body {
        self.text
            .push_str(&format!("{who}:\n{}\n\n", text.trim_end()));
        self.html.push_str(&format!(
            "<p><strong>{}</strong><br>\n{}</p>\n",
            escape(who),
            lines_html(text.trim_end())
        ));
        self
    }

    /// Quoted text (what the visitor wrote), under a label.
    pub fn quote(&mut self, label: &str, text: &str) -> &mut Body {
        self.text.push_str(&format!("{label}:\n"));
        for line in text.lines() {
            self.text.push_str(&format!("> {line}\n"));
        }
        self.text.push('\n');
        self.html.push_str(&format!(
            "<p>{}:</p>\n<blockquote>{}</blockquote>\n",
            escape(label),
            lines_html(text)
        ));
        self
    }

    /// A link on its own line.
    pub fn link(&mut self, label: &str, url: &str) -> &mut Body {
        self.text.push_str(&format!("{label}: {url}\n\n"));
        self.html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            escape(url),
            escape(label)
        ));
        self
    }

    /// The finished HTML document.
    pub fn html_document(&self) -> String {
        format!(
            "<!doctype html>\n<html><body style=\"font-family:sans-serif;line-height:1.5\">\n{}</body></html>\n",
            self.html
        )
    }
}

fn lines_html(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("<br>\n")
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The words of the mails to visitors, in one language.
pub struct Words {
    /// Subject of an agent's answer to an offline message.
    pub reply_subject: &'static str,
    /// Above the quote of what the visitor wrote.
    pub yours: &'static str,
    /// Subject of replies mailed after the visitor left ("{name}" is the agent).
    pub continued_subject: &'static str,
    /// Above them.
    pub continued: &'static str,
    /// The link back to the chat.
    pub open: &'static str,
    /// Said when a reply by mail reaches the conversation.
    pub answer_here: &'static str,
    /// Subject and first line of a transcript.
    pub transcript_subject: &'static str,
    pub transcript: &'static str,
    /// Who wrote what, in a transcript.
    pub you: &'static str,
    pub assistant: &'static str,
}

impl Words {
    pub fn of(language: Option<&str>) -> &'static Words {
        match language.map(|l| l.split(['-', '_']).next().unwrap_or(l)) {
            Some("de") => &DE,
            Some("es") => &ES,
            Some("fr") => &FR,
            Some("nl") => &NL,
            _ => &EN,
        }
    }
}

static EN: Words = Words {
    reply_subject: "Reply to your message",
    yours: "Your message",
    continued_subject: "{name} replied to you",
    continued: "{name} replied while you were away:",
    open: "Continue the conversation",
    answer_here: "You can also answer this e-mail: your answer goes to the same conversation.",
    transcript_subject: "Your conversation with us",
    transcript: "Here is your conversation, as you asked.",
    you: "You",
    assistant: "Assistant",
};
static DE: Words = Words {
    reply_subject: "Antwort auf Ihre Nachricht",
    yours: "Ihre Nachricht",
    continued_subject: "{name} hat Ihnen geantwortet",
    continued: "{name} hat geantwortet, während Sie weg waren:",
    open: "Gespräch fortsetzen",
    answer_here: "Sie können auch auf diese E-Mail antworten: Ihre Antwort kommt in dasselbe Gespräch.",
    transcript_subject: "Ihr Gespräch mit uns",
    transcript: "Hier ist Ihr Gespräch, wie gewünscht.",
    you: "Sie",
    assistant: "Assistent",
};
static ES: Words = Words {
    reply_subject: "Respuesta a tu mensaje",
    yours: "Tu mensaje",
    continued_subject: "{name} te ha respondido",
    continued: "{name} respondió mientras no estabas:",
    open: "Continuar la conversación",
    answer_here: "También puedes responder a este correo: tu respuesta llega a la misma conversación.",
    transcript_subject: "Tu conversación con nosotros",
    transcript: "Aquí tienes tu conversación, como pediste.",
    you: "Tú",
    assistant: "Asistente",
};
static FR: Words = Words {
    reply_subject: "Réponse à votre message",
    yours: "Votre message",
    continued_subject: "{name} vous a répondu",
    continued: "{name} a répondu pendant votre absence :",
    open: "Reprendre la conversation",
    answer_here: "Vous pouvez aussi répondre à cet e-mail : votre réponse arrive dans la même conversation.",
    transcript_subject: "Votre conversation avec nous",
    transcript: "Voici votre conversation, comme demandé.",
    you: "Vous",
    assistant: "Assistant",
};
static NL: Words = Words {
    reply_subject: "Antwoord op uw bericht",
    yours: "Uw bericht",
    continued_subject: "{name} heeft u geantwoord",
    continued: "{name} antwoordde terwijl u weg was:",
    open: "Het gesprek voortzetten",
    answer_here: "U kunt ook op deze e-mail antwoorden: uw antwoord komt in hetzelfde gesprek.",
    transcript_subject: "Uw gesprek met ons",
    transcript: "Hier is uw gesprek, zoals gevraagd.",
    you: "U",
    assistant: "Assistent",
};

/// A transcript of the visible part of `log` (what the visitor saw: no notes, no
/// explanations), each item under who wrote it.
pub fn transcript(body: &mut Body, words: &Words, log: &[Event]) {
    for event in log.iter().filter_map(Event::for_visitor) {
        match &event.body {
            EventBody::VisitorMessage { text, .. } => body.said(words.you, text),
            EventBody::OfflineMessage { text, .. } => body.said(words.you, text),
            EventBody::VisitorChoice { title, .. } => body.said(words.you, title),
            EventBody::BotAnswer { text, .. } => body.said(words.assistant, text),
            EventBody::AgentMessage { agent, text, .. } => body.said(agent, text),
            EventBody::VisitorFile { file, .. } => body.said(words.you, &file.name),
            EventBody::AgentFile { agent, file, .. } => body.said(agent, &file.name),
            _ => continue,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_say_the_same_and_the_html_is_escaped() {
        let mut body = Body::default();
        body.said("Ann", "Use <b>code</b> & \"quotes\"\nline two")
            .quote("Your message", "where is it?")
            .link("Continue", "https://shop.example/help?a=1&b=2#frontdesk=x");
        assert!(
            body.text
                .contains("Ann:\nUse <b>code</b> & \"quotes\"\nline two\n")
        );
        assert!(body.text.contains("> where is it?"));
        assert!(
            body.text
                .contains("Continue: https://shop.example/help?a=1&b=2#frontdesk=x")
        );
        let html = body.html_document();
        assert!(html.contains("Use &lt;b&gt;code&lt;/b&gt; &amp; &quot;quotes&quot;<br>"));
        assert!(html.contains("href=\"https://shop.example/help?a=1&amp;b=2#frontdesk=x\""));
        assert!(!html.contains("<b>code"));
    }

    #[test]
    fn every_language_has_its_words_and_english_is_the_default() {
        assert_eq!(Words::of(Some("de-AT")).you, "Sie");
        assert_eq!(Words::of(Some("fr")).open, "Reprendre la conversation");
        assert_eq!(Words::of(Some("pt")).you, "You");
        assert_eq!(Words::of(None).reply_subject, "Reply to your message");
        for w in [&EN, &DE, &ES, &FR, &NL] {
            assert!(w.continued.contains("{name}") && w.continued_subject.contains("{name}"));
        }
    }
}
