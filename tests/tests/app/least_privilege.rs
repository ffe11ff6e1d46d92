//! The app connects as its own role, `market_app`, with only what it uses; every other
//! test already runs the app under real Spin as that role.

use std::time::Duration;

use market_tests::testing::{app_url, spawn_app};

#[tokio::test]
async fn the_app_role_cannot_create_run_programs_read_secrets_or_destroy() {
    let app = spawn_app().await;
    let role = migrations::connect(
        &app_url(&app.db_url).parse().unwrap(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();

    // (statement, why it must be refused)
    let refused = [
        ("CREATE TABLE stolen (data text)", "no CREATE on the schema"),
        ("COPY items TO PROGRAM 'id'", "no pg_execute_server_program"),
        ("COPY items FROM '/etc/passwd'", "no pg_read_server_files"),
        (
            "SELECT rolpassword FROM pg_authid",
            "no access to password hashes",
        ),
        ("DELETE FROM items", "no DELETE on items"),
        (
            "UPDATE photo_blobs SET bytes = '\\x00'",
            "stored photo bytes never change: no UPDATE on photo_blobs",
        ),
        ("TRUNCATE item_photos", "no TRUNCATE"),
        ("DROP TABLE purchases", "not the owner"),
        ("ALTER TABLE items ADD COLUMN x int", "not the owner"),
        ("CREATE ROLE intruder SUPERUSER", "no CREATEROLE"),
    ];
    for (statement, why) in refused {
        let Err(error) = role.batch_execute(statement).await else {
            panic!("{statement} was allowed ({why})");
        };
        let code = error.code().map(|code| code.code().to_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{statement}: {error}");
    }
    let row = role
        .query_one(
            "SELECT current_user::text, rolsuper, current_setting('statement_timeout'),
                    pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'),
                    pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')
             FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "market_app");
    assert!(!row.get::<_, bool>(1), "not a superuser");
    assert_eq!(
        row.get::<_, String>(2),
        "5s",
        "statement_timeout set on the role"
    );
    assert!(!row.get::<_, bool>(3) && !row.get::<_, bool>(4));
    assert_eq!(
        app.post_json(
            "/api/items",
            r#"{"name":"Works","quantity":1,"price":"1","description":"As the app role"}"#
        )
        .await
        .status,
        hyper::StatusCode::CREATED
    );
}
