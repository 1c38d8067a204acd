using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace HeadyMe.Sync.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class SyncEngine : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "change_seq",
                table: "workspaces",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "keep_days",
                table: "workspaces",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "keep_versions",
                table: "workspaces",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "used_bytes",
                table: "workspaces",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "chunks",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    chunk_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    size = table.Column<int>(type: "integer", nullable: false),
                    stored_size = table.Column<int>(type: "integer", nullable: false),
                    object_key = table.Column<string>(type: "text", nullable: false),
                    key_version = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_referenced_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_chunks", x => new { x.workspace_id, x.chunk_id });
                    table.ForeignKey(
                        name: "FK_chunks_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "file_entries",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    path = table.Column<string>(type: "text", nullable: false),
                    path_key = table.Column<string>(type: "text", nullable: false),
                    current_version_id = table.Column<Guid>(type: "uuid", nullable: false),
                    deleted = table.Column<bool>(type: "boolean", nullable: false),
                    deleted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    purged = table.Column<bool>(type: "boolean", nullable: false),
                    seq = table.Column<long>(type: "bigint", nullable: false),
                    size = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_file_entries", x => x.id);
                    table.ForeignKey(
                        name: "FK_file_entries_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "folders",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    key = table.Column<string>(type: "text", nullable: false),
                    path = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_folders", x => new { x.workspace_id, x.key });
                    table.ForeignKey(
                        name: "FK_folders_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "kek_versions",
                columns: table => new
                {
                    version = table.Column<int>(type: "integer", nullable: false),
                    wrapped_key = table.Column<byte[]>(type: "bytea", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    retired_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kek_versions", x => x.version);
                });

            migrationBuilder.CreateTable(
                name: "file_versions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_id = table.Column<Guid>(type: "uuid", nullable: false),
                    path = table.Column<string>(type: "text", nullable: false),
                    size = table.Column<long>(type: "bigint", nullable: false),
                    content_hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    chunk_ids = table.Column<string[]>(type: "text[]", nullable: false),
                    modified_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    mode = table.Column<int>(type: "integer", nullable: false),
                    device = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    created_by = table.Column<Guid>(type: "uuid", nullable: false),
                    seq = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_file_versions", x => x.id);
                    table.ForeignKey(
                        name: "FK_file_versions_file_entries_file_id",
                        column: x => x.file_id,
                        principalTable: "file_entries",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "workspace_keys",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    kek_version = table.Column<int>(type: "integer", nullable: false),
                    wrapped_key = table.Column<byte[]>(type: "bytea", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_workspace_keys", x => new { x.workspace_id, x.version });
                    table.ForeignKey(
                        name: "FK_workspace_keys_kek_versions_kek_version",
                        column: x => x.kek_version,
                        principalTable: "kek_versions",
                        principalColumn: "version",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_workspace_keys_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_chunks_last_referenced_at",
                table: "chunks",
                column: "last_referenced_at");

            migrationBuilder.CreateIndex(
                name: "IX_file_entries_workspace_id_path_key",
                table: "file_entries",
                columns: new[] { "workspace_id", "path_key" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_file_entries_workspace_id_seq",
                table: "file_entries",
                columns: new[] { "workspace_id", "seq" });

            migrationBuilder.CreateIndex(
                name: "IX_file_versions_file_id_seq",
                table: "file_versions",
                columns: new[] { "file_id", "seq" });

            migrationBuilder.CreateIndex(
                name: "IX_file_versions_workspace_id",
                table: "file_versions",
                column: "workspace_id");

            migrationBuilder.CreateIndex(
                name: "IX_workspace_keys_kek_version",
                table: "workspace_keys",
                column: "kek_version");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "chunks");

            migrationBuilder.DropTable(
                name: "file_versions");

            migrationBuilder.DropTable(
                name: "folders");

            migrationBuilder.DropTable(
                name: "workspace_keys");

            migrationBuilder.DropTable(
                name: "file_entries");

            migrationBuilder.DropTable(
                name: "kek_versions");

            migrationBuilder.DropColumn(
                name: "change_seq",
                table: "workspaces");

            migrationBuilder.DropColumn(
                name: "keep_days",
                table: "workspaces");

            migrationBuilder.DropColumn(
                name: "keep_versions",
                table: "workspaces");

            migrationBuilder.DropColumn(
                name: "used_bytes",
                table: "workspaces");
        }
    }
}
