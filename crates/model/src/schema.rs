//! The types of the generated constraint table (`generated::shapes`).

/// Index into `generated::shapes::SHAPES`.
pub type ShapeId = u16;

#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    /// The model's `sensitive` trait: values of this shape never appear in messages or logs.
    pub sensitive: bool,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Structure {
        members: &'static [Member],
    },
    List {
        member: ShapeId,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        min: Option<i64>,
        max: Option<i64>,
    },
    /// `pattern` indexes `generated::shapes::PATTERNS`; `values` is the enum set, empty if none.
    String {
        min: Option<i64>,
        max: Option<i64>,
        pattern: Option<usize>,
        values: &'static [&'static str],
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Timestamp,
    Blob {
        min: Option<i64>,
        max: Option<i64>,
    },
    Document,
}

#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub shape: ShapeId,
    pub required: bool,
}

#[derive(Debug)]
pub struct Pattern {
    /// As the model writes it; Cognito's messages quote this form.
    pub model: &'static str,
    /// Anchored, with Java's ASCII character classes.
    pub regex: &'static str,
}

pub fn shape(id: ShapeId) -> &'static Shape {
    &crate::generated::shapes::SHAPES[usize::from(id)]
}

/// The id of a shape by its model name, for callers outside the generated code.
pub fn shape_id(name: &str) -> Option<ShapeId> {
    let shapes = &crate::generated::shapes::SHAPES;
    let index = shapes.binary_search_by(|s| s.name.cmp(name)).ok()?;
    ShapeId::try_from(index).ok()
}

impl crate::Operation {
    /// Whether the operation's input structure has a member of this wire name.
    pub fn has_input_member(self, name: &str) -> bool {
        match &crate::generated::shapes::SHAPES[usize::from(self.input_shape())].kind {
            Kind::Structure { members } => members.iter().any(|m| m.name == name),
            _ => false,
        }
    }
}
