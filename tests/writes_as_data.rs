//! A team's own API gets writes from its behaviour file alone: a create operation, and its
//! effect on another collection, with no Rust written for it.

use serde_json::{json, Value};

const SPEC: &str = r##"
openapi: 3.0.3
info: { title: Library, version: "1" }
paths:
  /authors/{id}:
    get:
      operationId: getAuthor
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: An author., content: { application/json: { schema: { $ref: "#/components/schemas/Author" } } } }
        "404": { description: No such author., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
  /books:
    get:
      operationId: listBooks
      parameters: [{ name: authorId, in: query, schema: { type: string } }]
      responses:
        "200":
          description: Books.
          content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/Book" } } } }
    post:
      operationId: addBook
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [title, authorId, pages]
              properties:
                title: { type: string, minLength: 1 }
                authorId: { type: string }
                pages: { type: integer, minimum: 1 }
      responses:
        "201": { description: Added., content: { application/json: { schema: { $ref: "#/components/schemas/Book" } } } }
        "400": { description: Bad body., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
        "404": { description: No such author., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
        "409": { description: The author's shelf is full., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
  /books/{id}:
    get:
      operationId: getBook
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: A book., content: { application/json: { schema: { $ref: "#/components/schemas/Book" } } } }
        "404": { description: No such book., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
components:
  schemas:
    Error:
      type: object
      required: [message, status]
      properties: { message: { type: string }, status: { type: string } }
    Author:
      type: object
      required: [id, name, books, pages, shelfLeft]
      properties:
        id: { type: string }
        name: { type: string }
        books: { type: integer }
        pages: { type: integer, maximum: 1000 }
        shelfLeft: { type: integer, minimum: 0 }
    Book:
      type: object
      required: [id, title, authorId, pages]
      properties:
        id: { type: string }
        title: { type: string }
        authorId: { type: string }
        pages: { type: integer }
        addedBy: { type: string }
"##;

const BEHAVIOUR: &str = r#"
errors:
  body: { message: "{message}", status: "{status}" }
collections:
  - { name: authors, file: authors.json, key: /id, schema: Author }
  - { name: books, file: books.json, key: /id, schema: Book }
operations:
  getAuthor: { collection: authors, lookup: id, body: { shape: single }, not_found: "No author {id}." }
  getBook: { collection: books, lookup: id, body: { shape: single }, not_found: "No book {id}." }
  listBooks:
    collection: books
    filters: [{ param: authorId, field: /authorId }]
    body: { shape: list }
writes:
  addBook:
    collection: books
    read: getBook
    key: { style: sequence, template: "book-{seq}", first: 100 }
    set: { /addedBy: "{header:x-librarian|or:nobody}" }
    effects:
      - changes:
          - name: author
            collection: authors
            key: "{record:/authorId}"
            not_found: "No author {key}."
            add:
              - { field: /books, amount: "1" }
              - { field: /pages, amount: "{record:/pages}" }
              - field: /shelfLeft
                amount: "1"
                negate: true
                at_least: { value: "0", status: 409, message: "{key}'s shelf is full." }
"#;

async fn call(
    server: &specmock::MockServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let http = reqwest::Client::new();
    let mut request =
        http.request(method.parse().unwrap(), format!("{}{path}", server.uri())).header("x-librarian", "ada");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.unwrap();
    let location = reply.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (reply.status().as_u16(), reply.json().await.unwrap_or(Value::Null), location)
}

#[tokio::test]
async fn a_create_and_its_effect_on_another_collection_come_from_the_behaviour_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("library.yaml"), SPEC).unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(fixtures.join("library")).unwrap();
    std::fs::write(fixtures.join("library/behaviour.yaml"), BEHAVIOUR).unwrap();
    let authors = json!({"records": [{"id": "le-guin", "name": "Ursula K. Le Guin", "books": 0, "pages": 0, "shelfLeft": 2},
                           {"id": "tolkien", "name": "J. R. R. Tolkien", "books": 0, "pages": 0, "shelfLeft": 5}]});
    std::fs::write(fixtures.join("library/authors.json"), authors.to_string()).unwrap();
    std::fs::write(fixtures.join("library/books.json"), r#"{"records": []}"#).unwrap();
    let server =
        specmock::MockServer::builder().spec(dir.path().join("library.yaml")).fixtures(&fixtures).start().await;

    let book = json!({"title": "The Dispossessed", "authorId": "le-guin", "pages": 387});
    let (status, created, location) = call(&server, "POST", "/books", Some(book)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created,
        json!({"title": "The Dispossessed", "authorId": "le-guin", "pages": 387, "id": "book-100", "addedBy": "ada"})
    );
    assert_eq!(location, Some(format!("{}/books/book-100", server.uri())));
    assert_eq!(call(&server, "GET", "/books/book-100", None).await.1["title"], "The Dispossessed");
    let author = call(&server, "GET", "/authors/le-guin", None).await.1;
    assert_eq!(
        (author["books"].as_i64(), author["pages"].as_i64(), author["shelfLeft"].as_i64()),
        (Some(1), Some(387), Some(1))
    );

    let second = json!({"title": "The Lathe of Heaven", "authorId": "le-guin", "pages": 184});
    assert_eq!(call(&server, "POST", "/books", Some(second)).await.0, 201);
    let third = json!({"title": "Lavinia", "authorId": "le-guin", "pages": 279});
    let (status, refused, _) = call(&server, "POST", "/books", Some(third)).await;
    assert_eq!((status, refused["message"].as_str()), (409, Some("le-guin's shelf is full.")));
    let unknown = json!({"title": "Dune", "authorId": "herbert", "pages": 412});
    assert_eq!(call(&server, "POST", "/books", Some(unknown)).await.1["message"], "No author herbert.");

    let listed = call(&server, "GET", "/books?authorId=le-guin", None).await.1;
    let titles: Vec<&str> = listed.as_array().unwrap().iter().map(|b| b["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["The Dispossessed", "The Lathe of Heaven"]);
    assert_eq!(call(&server, "GET", "/authors/le-guin", None).await.1["pages"], 571);

    // A change that would leave the author breaking its schema (at most 1,000 pages) is the
    // behaviour file's fault: a 500 naming the record and the rule, and nothing is kept.
    let long = json!({"title": "The Lord of the Rings", "authorId": "tolkien", "pages": 1178});
    let (status, refused, _) = call(&server, "POST", "/books", Some(long)).await;
    assert_eq!(status, 500, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("authors record tolkien that breaks its schema: /pages"), "{message}");
    let author = call(&server, "GET", "/authors/tolkien", None).await.1;
    assert_eq!((author["books"].as_i64(), author["pages"].as_i64()), (Some(0), Some(0)));
    assert_eq!(call(&server, "GET", "/books?authorId=tolkien", None).await.1, json!([]));
    let hobbit = json!({"title": "The Hobbit", "authorId": "tolkien", "pages": 310});
    assert_eq!(call(&server, "POST", "/books", Some(hobbit)).await.0, 201, "a write that fits is kept");
    assert_eq!(call(&server, "GET", "/authors/tolkien", None).await.1["pages"], 310);
}

#[tokio::test]
async fn a_write_may_not_change_a_field_a_filter_reads_through_a_join() {
    // Filtering books by their author's book count, which adding a book changes: the index of
    // the fixtures' books would keep the old counts while the session's authors moved on.
    let joined = BEHAVIOUR.replace(
        "filters: [{ param: authorId, field: /authorId }]",
        "filters: [{ param: authorId, field: /books, via: { collection: authors, key: /authorId } }]",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("library.yaml"), SPEC).unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(fixtures.join("library")).unwrap();
    std::fs::write(fixtures.join("library/behaviour.yaml"), joined).unwrap();
    let authors =
        json!({"records": [{"id": "le-guin", "name": "Ursula K. Le Guin", "books": 0, "pages": 0, "shelfLeft": 2}]});
    std::fs::write(fixtures.join("library/authors.json"), authors.to_string()).unwrap();
    std::fs::write(fixtures.join("library/books.json"), r#"{"records": []}"#).unwrap();
    let refused = specmock::MockServer::builder()
        .spec(dir.path().join("library.yaml"))
        .fixtures(&fixtures)
        .try_start()
        .await
        .err()
        .expect("the behaviour file is refused at load")
        .to_string();
    assert!(refused.contains("behaviour.yaml"), "{refused}");
    assert!(refused.contains("/writes/addBook/effects/0/changes/0"), "{refused}");
    assert!(
        refused.contains(
            "changes /books of `authors`, which the filter `authorId` of `listBooks` reads through `via` (/authorId -> /books)"
        ),
        "{refused}"
    );
}
