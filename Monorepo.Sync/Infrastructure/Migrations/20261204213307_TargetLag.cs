using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Monorepo.Sync.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class TargetLag : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "lag_commits",
                table: "sync_targets",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "lag_commits",
                table: "sync_targets");
        }
    }
}
