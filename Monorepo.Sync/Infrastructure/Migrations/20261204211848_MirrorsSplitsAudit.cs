using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Monorepo.Sync.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class MirrorsSplitsAudit : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "consecutive_failures",
                table: "repositories",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string[]>(
                name: "exclude_refs",
                table: "repositories",
                type: "text[]",
                nullable: false,
                defaultValue: new string[0]);

            migrationBuilder.AddColumn<string[]>(
                name: "include_refs",
                table: "repositories",
                type: "text[]",
                nullable: false,
                defaultValue: new string[0]);

            migrationBuilder.AddColumn<string>(
                name: "last_error",
                table: "repositories",
                type: "character varying(4000)",
                maxLength: 4000,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_run_at",
                table: "repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_success_at",
                table: "repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "next_attempt_after",
                table: "repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "source_credential",
                table: "repositories",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "source_credential_kind",
                table: "repositories",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "webhook_secret",
                table: "repositories",
                type: "bytea",
                nullable: false,
                defaultValue: new byte[0]);

            migrationBuilder.CreateTable(
                name: "ref_update_audit",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    repository_id = table.Column<Guid>(type: "uuid", nullable: false),
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    target = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    @ref = table.Column<string>(name: "ref", type: "character varying(255)", maxLength: 255, nullable: false),
                    old_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    new_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    forced = table.Column<bool>(type: "boolean", nullable: false),
                    trigger = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    message = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ref_update_audit", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "split_targets",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    repository_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    prefix = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    source_ref = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: false),
                    target_ref = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    credential = table.Column<byte[]>(type: "bytea", nullable: true),
                    credential_kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    last_split_head = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_success_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_split_targets", x => x.id);
                    table.ForeignKey(
                        name: "FK_split_targets_repositories_repository_id",
                        column: x => x.repository_id,
                        principalTable: "repositories",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "sync_runs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    repository_id = table.Column<Guid>(type: "uuid", nullable: false),
                    trigger = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    outcome = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    error = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true),
                    refs_updated = table.Column<int>(type: "integer", nullable: false),
                    refs_refused = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sync_runs", x => x.id);
                    table.ForeignKey(
                        name: "FK_sync_runs_repositories_repository_id",
                        column: x => x.repository_id,
                        principalTable: "repositories",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "sync_targets",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    repository_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: false),
                    credential = table.Column<byte[]>(type: "bytea", nullable: true),
                    credential_kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    protected_refs = table.Column<string[]>(type: "text[]", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_success_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true),
                    refused_refs = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sync_targets", x => x.id);
                    table.ForeignKey(
                        name: "FK_sync_targets_repositories_repository_id",
                        column: x => x.repository_id,
                        principalTable: "repositories",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "split_map",
                columns: table => new
                {
                    split_target_id = table.Column<Guid>(type: "uuid", nullable: false),
                    source_commit = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    split_commit = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_split_map", x => new { x.split_target_id, x.source_commit });
                    table.ForeignKey(
                        name: "FK_split_map_split_targets_split_target_id",
                        column: x => x.split_target_id,
                        principalTable: "split_targets",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ref_update_audit_repository_id_id",
                table: "ref_update_audit",
                columns: new[] { "repository_id", "id" });

            migrationBuilder.CreateIndex(
                name: "IX_split_targets_repository_id_name",
                table: "split_targets",
                columns: new[] { "repository_id", "name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_sync_runs_repository_id_started_at",
                table: "sync_runs",
                columns: new[] { "repository_id", "started_at" });

            migrationBuilder.CreateIndex(
                name: "IX_sync_targets_repository_id_name",
                table: "sync_targets",
                columns: new[] { "repository_id", "name" },
                unique: true);

            // The audit is append-only: the database itself refuses to change or remove a row.
            migrationBuilder.Sql("""
                CREATE FUNCTION ref_update_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  RAISE EXCEPTION 'ref_update_audit is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
                END $$;
                CREATE TRIGGER ref_update_audit_no_update_delete
                  BEFORE UPDATE OR DELETE ON ref_update_audit
                  FOR EACH ROW EXECUTE FUNCTION ref_update_audit_append_only();
                CREATE TRIGGER ref_update_audit_no_truncate
                  BEFORE TRUNCATE ON ref_update_audit
                  FOR EACH STATEMENT EXECUTE FUNCTION ref_update_audit_append_only();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS ref_update_audit_no_truncate ON ref_update_audit;
                DROP TRIGGER IF EXISTS ref_update_audit_no_update_delete ON ref_update_audit;
                DROP FUNCTION IF EXISTS ref_update_audit_append_only();
                """);

            migrationBuilder.DropTable(
                name: "ref_update_audit");

            migrationBuilder.DropTable(
                name: "split_map");

            migrationBuilder.DropTable(
                name: "sync_runs");

            migrationBuilder.DropTable(
                name: "sync_targets");

            migrationBuilder.DropTable(
                name: "split_targets");

            migrationBuilder.DropColumn(
                name: "consecutive_failures",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "exclude_refs",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "include_refs",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "last_error",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "last_run_at",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "last_success_at",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "next_attempt_after",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "source_credential",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "source_credential_kind",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "webhook_secret",
                table: "repositories");
        }
    }
}
