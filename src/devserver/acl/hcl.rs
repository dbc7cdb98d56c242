//! The HCL 1 subset Vault policies are written in, and their JSON form, parsed as
//! github.com/hashicorp/hcl v1 does (scanner, parser, json/parser) into the items the policy
//! decoder reads. Error texts follow that parser's where a policy writer would meet them.
//!
//! Pure text in, tree out: it knows nothing of paths, capabilities or tokens.

use super::*;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
    Literal(Literal, Position),
    List(Vec<Node>, Position),
    Object(Vec<Item>, Position),
}

impl Node {
    pub(super) fn position(&self) -> Position {
        match self {
            Node::Literal(_, p) | Node::List(_, p) | Node::Object(_, p) => *p,
        }
    }

    /// The Go AST type name Vault's messages mention.
    pub(super) fn go_type(&self) -> &'static str {
        match self {
            Node::Literal(..) => "*ast.LiteralType",
            Node::List(..) => "*ast.ListType",
            Node::Object(..) => "*ast.ObjectType",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Number(String),
    Bool(bool),
    Null,
}

/// `keys... = value` or `keys... { ... }`; `keys` is never empty.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Item {
    pub(super) keys: Vec<String>,
    /// Where the `=` (HCL) or `:` (JSON) was; blocks have none.
    pub(super) assign: Option<Position>,
    pub(super) value: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Number(String),
    Float(String),
    Bool(bool),
    Null,
    LBrace,
    RBrace,
    LBrack,
    RBrack,
    Assign,
    Colon,
    Comma,
    Period,
    Add,
    Sub,
    Eof,
}

impl Tok {
    /// HCL's token type names, as its messages print them.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Tok::Ident(_) => "IDENT",
            Tok::Str(_) => "STRING",
            Tok::Number(_) => "NUMBER",
            Tok::Float(_) => "FLOAT",
            Tok::Bool(_) => "BOOL",
            Tok::Null => "NULL",
            Tok::LBrace => "LBRACE",
            Tok::RBrace => "RBRACE",
            Tok::LBrack => "LBRACK",
            Tok::RBrack => "RBRACK",
            Tok::Assign => "ASSIGN",
            Tok::Colon => "COLON",
            Tok::Comma => "COMMA",
            Tok::Period => "PERIOD",
            Tok::Add => "ADD",
            Tok::Sub => "SUB",
            Tok::Eof => "EOF",
        }
    }
}

pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) position: Position,
}

pub(super) struct Parser {
    pub(super) chars: Vec<char>,
    pub(super) at: usize,
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) json: bool,
    pub(super) peeked: Option<Token>,
}

pub(super) fn syntax(position: Position, message: impl Into<String>) -> PolicyError {
    PolicyError::Syntax {
        position: Some(position),
        message: message.into(),
    }
}

impl Parser {
    pub(super) fn new(text: &str, json: bool) -> Parser {
        Parser {
            chars: text.chars().collect(),
            at: 0,
            line: 1,
            column: 1,
            json,
            peeked: None,
        }
    }

    pub(super) fn here(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    pub(super) fn current(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    pub(super) fn lookahead(&self, n: usize) -> Option<char> {
        self.chars.get(self.at + n).copied()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.current()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    pub(super) fn skip_trivia(&mut self) -> Result<(), PolicyError> {
        loop {
            match (self.current(), self.lookahead(1)) {
                (Some(' ' | '\t' | '\n' | '\r'), _) => {
                    self.bump();
                }
                (Some('#'), _) | (Some('/'), Some('/')) => {
                    while !matches!(self.current(), None | Some('\n')) {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.here();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(syntax(start, "comment not terminated")),
                            Some('*') if self.current() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    pub(super) fn next(&mut self) -> Result<Token, PolicyError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.scan(),
        }
    }

    pub(super) fn peek(&mut self) -> Result<&Token, PolicyError> {
        if self.peeked.is_none() {
            let token = self.scan()?;
            self.peeked = Some(token);
        }
        match &self.peeked {
            Some(token) => Ok(token),
            // Invariant: filled just above.
            None => unreachable!("peeked token was just stored"),
        }
    }

    pub(super) fn scan(&mut self) -> Result<Token, PolicyError> {
        self.skip_trivia()?;
        let position = self.here();
        let Some(c) = self.current() else {
            return Ok(Token {
                tok: Tok::Eof,
                position,
            });
        };
        let single = match c {
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '[' => Some(Tok::LBrack),
            ']' => Some(Tok::RBrack),
            ',' => Some(Tok::Comma),
            '=' if !self.json => Some(Tok::Assign),
            ':' if self.json => Some(Tok::Colon),
            '.' if !self.json => Some(Tok::Period),
            '+' if !self.json => Some(Tok::Add),
            '-' if !self.lookahead(1).is_some_and(|n| n.is_ascii_digit()) && !self.json => {
                Some(Tok::Sub)
            }
            _ => None,
        };
        if let Some(tok) = single {
            self.bump();
            return Ok(Token { tok, position });
        }
        let tok = if c == '"' {
            self.string(position)?
        } else if c.is_ascii_digit() || c == '-' {
            self.number(position)?
        } else if c.is_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(n) = self.current() {
                if n.is_alphanumeric() || matches!(n, '_' | '-' | '.') {
                    word.push(n);
                    self.bump();
                } else {
                    break;
                }
            }
            match word.as_str() {
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                "null" if self.json => Tok::Null,
                _ if self.json => return Err(syntax(position, format!("invalid token: {word}"))),
                _ => Tok::Ident(word),
            }
        } else {
            return Err(syntax(position, "illegal char"));
        };
        Ok(Token { tok, position })
    }

    pub(super) fn number(&mut self, position: Position) -> Result<Tok, PolicyError> {
        let mut text = String::new();
        let mut float = false;
        if self.current() == Some('-') {
            text.push('-');
            self.bump();
            if !self.current().is_some_and(|d| d.is_ascii_digit()) {
                return Err(syntax(position, "illegal char"));
            }
        }
        let digits = |p: &mut Parser, text: &mut String| {
            while let Some(d) = p.current().filter(char::is_ascii_digit) {
                text.push(d);
                p.bump();
            }
        };
        digits(self, &mut text);
        if self.current() == Some('.') && self.lookahead(1).is_some_and(|d| d.is_ascii_digit()) {
            float = true;
            text.push('.');
            self.bump();
            digits(self, &mut text);
        }
        if matches!(self.current(), Some('e' | 'E')) {
            float = true;
            text.push('e');
            self.bump();
            if let Some(sign) = self.current().filter(|s| matches!(s, '+' | '-')) {
                text.push(sign);
                self.bump();
            }
            if !self.current().is_some_and(|d| d.is_ascii_digit()) {
                return Err(syntax(position, "illegal char"));
            }
            digits(self, &mut text);
        }
        Ok(if float {
            Tok::Float(text)
        } else {
            Tok::Number(text)
        })
    }

    /// A double-quoted string. HCL lets `${...}` interpolations span quotes; they are kept as
    /// text (Vault never evaluates them in policies).
    pub(super) fn string(&mut self, position: Position) -> Result<Tok, PolicyError> {
        self.bump();
        let mut value = String::new();
        let mut braces = 0usize;
        loop {
            let escape_at = self.here();
            match self.bump() {
                None => return Err(syntax(position, "literal not terminated")),
                Some('\n') if braces == 0 => {
                    return Err(syntax(position, "literal not terminated"))
                }
                Some('"') if braces == 0 => return Ok(Tok::Str(value)),
                Some('\\') => value.push(self.escape(escape_at)?),
                Some('$') if !self.json && self.current() == Some('{') => {
                    braces += 1;
                    value.push('$');
                }
                Some('}') if braces > 0 => {
                    braces -= 1;
                    value.push('}');
                }
                Some(c) => value.push(c),
            }
        }
    }

    pub(super) fn escape(&mut self, at: Position) -> Result<char, PolicyError> {
        let illegal = || syntax(at, "illegal char escape");
        let hex = |p: &mut Parser, n: usize| -> Result<char, PolicyError> {
            let mut code = 0u32;
            for _ in 0..n {
                let digit = p.bump().and_then(|d| d.to_digit(16)).ok_or_else(illegal)?;
                code = code * 16 + digit;
            }
            char::from_u32(code).ok_or_else(illegal)
        };
        Ok(match self.bump().ok_or_else(illegal)? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'a' if !self.json => '\u{7}',
            'v' if !self.json => '\u{b}',
            'x' if !self.json => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' if !self.json => hex(self, 8)?,
            _ => return Err(illegal()),
        })
    }

    // --- HCL ---------------------------------------------------------------------------------

    pub(super) fn hcl_document(&mut self) -> Result<Vec<Item>, PolicyError> {
        self.hcl_object_list(false)
    }

    /// Items up to EOF (top level) or up to and including the closing `}` (inside an object).
    pub(super) fn hcl_object_list(&mut self, in_object: bool) -> Result<Vec<Item>, PolicyError> {
        let mut items = Vec::new();
        loop {
            let token = self.peek()?;
            match (&token.tok, in_object) {
                (Tok::Eof, false) => return Ok(items),
                (Tok::Eof, true) => {
                    return Err(PolicyError::Syntax {
                        position: None,
                        message: "object expected closing RBRACE got: EOF".to_owned(),
                    })
                }
                (Tok::RBrace, true) => {
                    self.next()?;
                    return Ok(items);
                }
                _ => {}
            }
            items.push(self.hcl_item()?);
            // Object lists may be comma-delimited; the comma is simply consumed.
            if self.peek()?.tok == Tok::Comma {
                self.next()?;
            }
        }
    }

    pub(super) fn hcl_item(&mut self) -> Result<Item, PolicyError> {
        let mut keys: Vec<String> = Vec::new();
        let mut key_texts: Vec<String> = Vec::new();
        loop {
            let token = self.next()?;
            match token.tok {
                Tok::Ident(k) => {
                    key_texts.push(k.clone());
                    keys.push(k);
                }
                Tok::Str(k) => {
                    key_texts.push(format!("{k:?}"));
                    keys.push(k);
                }
                Tok::Assign if keys.len() > 1 => {
                    return Err(syntax(
                        token.position,
                        "nested object expected: LBRACE got: ASSIGN",
                    ))
                }
                Tok::Assign if keys.is_empty() => {
                    return Err(syntax(token.position, "no object keys found!"))
                }
                Tok::Assign => {
                    let value = self.hcl_value()?;
                    return Ok(Item {
                        keys,
                        assign: Some(token.position),
                        value,
                    });
                }
                Tok::LBrace if keys.is_empty() => {
                    return Err(syntax(
                        token.position,
                        "expected: IDENT | STRING got: LBRACE",
                    ))
                }
                Tok::LBrace => {
                    let body = self.hcl_object_list(true)?;
                    return Ok(Item {
                        keys,
                        assign: None,
                        value: Node::Object(body, token.position),
                    });
                }
                Tok::Eof | Tok::RBrace if !keys.is_empty() => {
                    return Err(PolicyError::Syntax {
                        position: None,
                        message: format!(
                            "key '{}' expected start of object ('{{') or assignment ('=')",
                            key_texts.join(" ")
                        ),
                    })
                }
                other => {
                    return Err(syntax(
                        token.position,
                        format!(
                            "expected: IDENT | STRING | ASSIGN | LBRACE got: {}",
                            other.name()
                        ),
                    ))
                }
            }
        }
    }

    pub(super) fn hcl_value(&mut self) -> Result<Node, PolicyError> {
        let token = self.next()?;
        let position = token.position;
        Ok(match token.tok {
            Tok::Str(s) => Node::Literal(Literal::Str(s), position),
            Tok::Number(n) | Tok::Float(n) => Node::Literal(Literal::Number(n), position),
            Tok::Bool(b) => Node::Literal(Literal::Bool(b), position),
            Tok::LBrace => Node::Object(self.hcl_object_list(true)?, position),
            Tok::LBrack => self.hcl_list(position)?,
            other => return Err(syntax(position, format!("Unknown token: {}", other.name()))),
        })
    }

    pub(super) fn hcl_list(&mut self, start: Position) -> Result<Node, PolicyError> {
        let mut elements = Vec::new();
        let mut need_comma = false;
        loop {
            let token = self.next()?;
            if need_comma && !matches!(token.tok, Tok::Comma | Tok::RBrack) {
                return Err(syntax(
                    token.position,
                    format!(
                        "error parsing list, expected comma or list end, got: {}",
                        token.tok.name()
                    ),
                ));
            }
            match token.tok {
                Tok::Str(s) => {
                    elements.push(Node::Literal(Literal::Str(s), token.position));
                    need_comma = true;
                }
                Tok::Number(n) | Tok::Float(n) => {
                    elements.push(Node::Literal(Literal::Number(n), token.position));
                    need_comma = true;
                }
                Tok::Comma => need_comma = false,
                Tok::LBrace => {
                    let body = self.hcl_object_list(true)?;
                    elements.push(Node::Object(body, token.position));
                    need_comma = true;
                }
                // HCL 1's list parser skips booleans without a word (a TODO in its source), so
                // `[true]` is an empty list there too.
                Tok::Bool(_) => {}
                Tok::RBrack => return Ok(Node::List(elements, start)),
                other => {
                    return Err(syntax(
                        token.position,
                        format!("unexpected token while parsing list: {}", other.name()),
                    ))
                }
            }
        }
    }

    // --- JSON --------------------------------------------------------------------------------

    pub(super) fn json_document(&mut self) -> Result<Vec<Item>, PolicyError> {
        let open = self.next()?;
        if open.tok != Tok::LBrace {
            return Err(syntax(open.position, "does not contain a root object"));
        }
        let items = self.json_object()?;
        let end = self.next()?;
        if end.tok != Tok::Eof {
            return Err(syntax(
                end.position,
                format!("expected: EOF got: {}", end.tok.name()),
            ));
        }
        Ok(items)
    }

    /// Members after `{`, up to and including `}`. Duplicate keys are all kept, like HCL does.
    pub(super) fn json_object(&mut self) -> Result<Vec<Item>, PolicyError> {
        let mut items = Vec::new();
        if self.peek()?.tok == Tok::RBrace {
            self.next()?;
            return Ok(items);
        }
        loop {
            let key = self.next()?;
            let Tok::Str(name) = key.tok else {
                return Err(syntax(
                    key.position,
                    format!("expected: STRING got: {}", key.tok.name()),
                ));
            };
            let colon = self.next()?;
            if colon.tok != Tok::Colon {
                return Err(syntax(
                    colon.position,
                    format!("expected: COLON got: {}", colon.tok.name()),
                ));
            }
            let value = self.json_value()?;
            items.push(Item {
                keys: vec![name],
                assign: Some(colon.position),
                value,
            });
            let after = self.next()?;
            match after.tok {
                Tok::Comma => {}
                Tok::RBrace => return Ok(items),
                other => {
                    return Err(syntax(
                        after.position,
                        format!("expected: COMMA | RBRACE got: {}", other.name()),
                    ))
                }
            }
        }
    }

    pub(super) fn json_value(&mut self) -> Result<Node, PolicyError> {
        let token = self.next()?;
        let position = token.position;
        Ok(match token.tok {
            Tok::Str(s) => Node::Literal(Literal::Str(s), position),
            Tok::Number(n) | Tok::Float(n) => Node::Literal(Literal::Number(n), position),
            Tok::Bool(b) => Node::Literal(Literal::Bool(b), position),
            Tok::Null => Node::Literal(Literal::Null, position),
            Tok::LBrace => Node::Object(self.json_object()?, position),
            Tok::LBrack => {
                let mut elements = Vec::new();
                if self.peek()?.tok == Tok::RBrack {
                    self.next()?;
                    return Ok(Node::List(elements, position));
                }
                loop {
                    elements.push(self.json_value()?);
                    let after = self.next()?;
                    match after.tok {
                        Tok::Comma => {}
                        Tok::RBrack => return Ok(Node::List(elements, position)),
                        other => {
                            return Err(syntax(
                                after.position,
                                format!("expected: COMMA | RBRACK got: {}", other.name()),
                            ))
                        }
                    }
                }
            }
            other => return Err(syntax(position, format!("Unknown token: {}", other.name()))),
        })
    }
}

/// HCL's JSON parser turns `{"path": {"x": {...}}}` into the block `path "x" {...}`: an item
/// whose value is an object made only of objects (or a list made only of objects) is split into
/// one item per member, keys appended, and this repeats at every depth (`flattenObjects` in
/// hashicorp/hcl `json/parser/flatten.go`).
pub(super) fn flatten(items: Vec<Item>) -> Vec<Item> {
    let mut done = Vec::new();
    let mut frontier = items;
    while let Some(item) = frontier.pop() {
        match item.value {
            Node::Object(members, _)
                if !members.is_empty()
                    && members.iter().all(|m| matches!(m.value, Node::Object(..))) =>
            {
                for member in members {
                    let mut keys = item.keys.clone();
                    keys.extend(member.keys);
                    frontier.push(Item {
                        keys,
                        assign: item.assign,
                        value: member.value,
                    });
                }
            }
            Node::List(elements, _)
                if !elements.is_empty()
                    && elements.iter().all(|e| matches!(e, Node::Object(..))) =>
            {
                for element in elements {
                    frontier.push(Item {
                        keys: item.keys.clone(),
                        assign: item.assign,
                        value: element,
                    });
                }
            }
            value => done.push(Item { value, ..item }),
        }
    }
    // The frontier runs backwards; restore the written order, then flatten nested objects.
    done.reverse();
    done.into_iter()
        .map(|item| Item {
            value: flatten_node(item.value),
            ..item
        })
        .collect()
}

pub(super) fn flatten_node(node: Node) -> Node {
    match node {
        Node::Object(members, p) => Node::Object(flatten(members), p),
        Node::List(elements, p) => Node::List(elements.into_iter().map(flatten_node).collect(), p),
        literal @ Node::Literal(..) => literal,
    }
}
